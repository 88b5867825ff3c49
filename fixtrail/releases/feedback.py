"""Merge-request feedback: one note on each merge request of a deployed
release, listing the issues that release brought, edited in place later.

Steps, from a deploy to the note:

1. the deploy endpoint calls ``schedule_deploy_feedback(deploy)`` in its
   transaction: a job keyed ``mr-feedback:deploy:<id>`` runs once the watch
   window (FIXTRAIL_MR_FEEDBACK_MINUTES) after the deploy has passed; a
   periodic sweep schedules deploys that were recorded some other way;
2. that job queues one note job per merge request of the release;
3. each note job gathers the issues first seen or regressed in the
   releases containing the merge request (``merge_requests``), composes the
   note (``compose_note``, pure) and writes it through the provider, editing
   the note it wrote before (``MergeRequest.feedback_note_id``).

On demand: ``request_release_feedback`` (``fixtrail mrnotes send``, the
API) and ``request_merge_request_note`` (the merge-request page) queue the
same note jobs at once. The note looks like this::

    <!-- fixtrail:merge-request-feedback -->
    ### Fixtrail: errors after !7

    **2 new issues and 1 regression** since release `1.4.0`.

    #### Release `1.4.0`
    Deployed to `production` at 2026-03-02 12:00:00 UTC.

    New issues ([all](https://fixtrail.example.com/…)):
    - [BACKEND-1A](https://…/issues/12/) `ValueError: bad thing`: 120 events, 14 users
    …

Everything from events (titles, release names, environments) goes in code
spans, where neither Markdown, HTML, @mentions nor #references work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from fixtrail.issues.models import Issue, TagValue
from fixtrail.issues.search import quote_term
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import enqueue
from fixtrail.lib.timefmt import exact
from fixtrail.releases.merge_requests import (
    API_PROVIDERS,
    attributed_issues,
    can_use_api,
    reference,
)
from fixtrail.releases.models import Deploy, MergeRequest, Release
from fixtrail.releases.providers.base import provider_for

NOTE_KIND = "releases.write_merge_request_note"
DEPLOY_KIND = "releases.deploy_feedback"
# The first line of every note, so a person (or a later Fixtrail) can tell
# Fixtrail's notes from people's.
MARKER = "<!-- fixtrail:merge-request-feedback -->"
# What one note lists. GitHub refuses comments over 65,536 characters; with
# titles cut at TITLE_CHARS a listed issue takes under 400 characters, so
# NOTE_RELEASES × 2 lists × NOTE_ISSUES stays far below that.
NOTE_RELEASES = 5
NOTE_ISSUES = 10
TITLE_CHARS = 120
NAME_CHARS = 80
# Deploys are noted at most this long after their window passed; older
# deploys found by the sweep (e.g. right after an upgrade) are left alone.
SWEEP_LOOKBACK = dt.timedelta(days=1)
# Deploys the sweep schedules per run; more wait for its next run.
SWEEP_BATCH = 200


class FeedbackError(Exception):
    """A note cannot be requested (no token, no API), with the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# The note, as pure functions over plain data ------------------------------


@dataclass(frozen=True)
class NoteIssue:
    short_id: str
    title: str
    url: str
    # Events of this issue in the release the note lists it under.
    events: int
    users: int


@dataclass(frozen=True)
class NoteRelease:
    version: str
    # (environment, finished at) of each deploy, oldest first.
    deploys: tuple[tuple[str, dt.datetime], ...]
    new: tuple[NoteIssue, ...]
    regressed: tuple[NoteIssue, ...]
    # How many new and regressed issues there are in all, listed or not.
    new_total: int
    regressed_total: int
    new_url: str
    regressed_url: str


@dataclass(frozen=True)
class NoteReport:
    # "!7" (GitLab) or "#7" (GitHub).
    reference: str
    releases: tuple[NoteRelease, ...]
    # The environment the issues were limited to, "" for all.
    environment: str
    page_url: str


def code_span(text: str, limit: int) -> str:
    """Return ``text`` as an inline code span, on one line and at most
    ``limit`` characters, that renders literally on GitLab and GitHub.

    Control and format characters (newlines, bidi overrides, zero-width
    spaces) become spaces; the fence is one backtick longer than the
    longest run of backticks inside.
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    if not cleaned:
        return "(empty)"
    longest = run = 0
    for ch in cleaned:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    # A span that starts or ends with a backtick needs a space inside its
    # fence; CommonMark strips one space from each side.
    if "`" in (cleaned[0], cleaned[-1]):
        cleaned = f" {cleaned} "
    return f"{fence}{cleaned}{fence}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _issue_line(issue: NoteIssue) -> str:
    return (
        f"- [{issue.short_id}]({issue.url}) {code_span(issue.title, TITLE_CHARS)}: "
        f"{_plural(issue.events, 'event', 'events')}, "
        f"{_plural(issue.users, 'user', 'users')}"
    )


def _issue_list(
    heading: str, issues: tuple[NoteIssue, ...], total: int, url: str
) -> list[str]:
    lines = [f"{heading} ([all {total:,}]({url})):"]
    lines += [_issue_line(issue) for issue in issues]
    if total > len(issues):
        lines.append(f"- and {total - len(issues):,} more")
    return lines


def _release_section(release: NoteRelease) -> list[str]:
    lines = ["", f"#### Release {code_span(release.version, NAME_CHARS)}"]
    if release.deploys:
        places = ", ".join(
            f"{code_span(env, NAME_CHARS)} at {exact(at)}"
            for env, at in release.deploys
        )
        lines.append(f"Deployed to {places}.")
    else:
        lines.append("Not deployed yet.")
    if not release.new_total and not release.regressed_total:
        lines += ["", "No new or regressed issues."]
    if release.new_total:
        lines += [""] + _issue_list(
            "New issues", release.new, release.new_total, release.new_url
        )
    if release.regressed_total:
        lines += [""] + _issue_list(
            "Regressed issues",
            release.regressed,
            release.regressed_total,
            release.regressed_url,
        )
    return lines


def compose_note(report: NoteReport, now: dt.datetime) -> str:
    """Return the Markdown of the note for ``report``, written at ``now``."""
    new = sum(r.new_total for r in report.releases)
    regressed = sum(r.regressed_total for r in report.releases)
    versions = ", ".join(code_span(r.version, NAME_CHARS) for r in report.releases)
    where = (
        f" in {code_span(report.environment, NAME_CHARS)}" if report.environment else ""
    )
    if new or regressed:
        summary = (
            f"**{_plural(new, 'new issue', 'new issues')} and "
            f"{_plural(regressed, 'regression', 'regressions')}**{where} "
            f"since release {versions}."
        )
    elif report.releases:
        summary = f"No new or regressed issues{where} since release {versions}."
    else:
        summary = "This merge request is in no release Fixtrail knows yet."
    lines = [MARKER, f"### Fixtrail: errors after {report.reference}", "", summary]
    for release in report.releases:
        lines += _release_section(release)
    lines += [
        "",
        "---",
        f"<sub>Updated {exact(now)} by [Fixtrail]({report.page_url}). "
        "This note is edited in place as errors come in.</sub>",
    ]
    return "\n".join(lines) + "\n"


# Gathering what the note says ---------------------------------------------


def merge_request_owner(merge_request: MergeRequest) -> str:
    """Return the job owner string of a merge request's note jobs."""
    return f"releases.merge_request:{merge_request.pk}"


def merge_request_page(merge_request: MergeRequest, org_slug: str) -> str:
    """Return the absolute URL of the merge request's page in Fixtrail."""
    return (
        f"{settings.BASE_URL}/organizations/{org_slug}/merge-requests/"
        f"{merge_request.pk}/"
    )


def _search_url(org_slug: str, query: str) -> str:
    return (
        f"{settings.BASE_URL}/organizations/{org_slug}/issues/"
        f"?query={quote(query, safe='')}"
    )


def _note_issues(issues: list[Issue], version: str) -> tuple[NoteIssue, ...]:
    events = dict(
        TagValue.objects.filter(
            issue__in=issues, key="release", value=version
        ).values_list("issue_id", "times_seen")
    )
    return tuple(
        NoteIssue(
            short_id=issue.short_id_display,
            title=issue.title,
            url=f"{settings.BASE_URL}{issue.get_absolute_url()}",
            events=events.get(issue.pk, 0),
            users=issue.user_count,
        )
        for issue in issues
    )


def build_report(merge_request: MergeRequest, environment: str = "") -> NoteReport:
    """Return what the note on ``merge_request`` says now (a few queries
    per release it is in)."""
    repository = merge_request.repository
    org_slug = repository.organization.slug
    releases = []
    for found in attributed_issues(merge_request, environment, limit=NOTE_ISSUES)[
        :NOTE_RELEASES
    ]:
        release = found.release
        deploys = tuple(
            release.deploys.order_by("finished_at").values_list(
                "environment", "finished_at"
            )[:NOTE_RELEASES]
        )
        # "release:" quotes a value safely for the search box; firstRelease
        # takes the same quoted form.
        quoted = quote_term("release", release.version).partition(":")[2]
        releases.append(
            NoteRelease(
                version=release.version,
                deploys=deploys,
                new=_note_issues(found.new, release.version),
                regressed=_note_issues(found.regressed, release.version),
                new_total=found.new_total,
                regressed_total=found.regressed_total,
                new_url=_search_url(org_slug, f"firstRelease:{quoted}"),
                regressed_url=_search_url(org_slug, f"release:{quoted} is:regressed"),
            )
        )
    return NoteReport(
        reference=reference(merge_request),
        releases=tuple(releases),
        environment=environment,
        page_url=merge_request_page(merge_request, org_slug),
    )


# Requesting and writing notes ---------------------------------------------


def feedback_window() -> dt.timedelta:
    """Return how long after a deploy its merge requests are noted."""
    return dt.timedelta(minutes=settings.MR_FEEDBACK_MINUTES)


def deploy_key(deploy: Deploy) -> str:
    """Return the idempotency key of a deploy's feedback job."""
    return f"mr-feedback:deploy:{deploy.pk}"


def schedule_deploy_feedback(deploy: Deploy, now: dt.datetime | None = None) -> Job:
    """Queue the notes about ``deploy`` for when its watch window has passed.

    Call it in the transaction that records the deploy. Calling it again
    for the same deploy returns the same job, so no merge request is noted
    twice for one deploy.
    """
    now = now or timezone.now()
    due = deploy.finished_at + feedback_window()
    return enqueue(
        DEPLOY_KIND,
        {"deploy": deploy.pk},
        key=deploy_key(deploy),
        owner=f"releases.release:{deploy.release_id}",
        delay=max(due - now, dt.timedelta(0)),
    )


def schedule_missed_deploys(now: dt.datetime) -> int:
    """Schedule the feedback of deploys whose window passed within
    SWEEP_LOOKBACK and that have no feedback job (recorded without
    ``schedule_deploy_feedback``); return how many."""
    window = feedback_window()
    deploys = list(
        Deploy.objects.filter(
            finished_at__lte=now - window,
            finished_at__gte=now - window - SWEEP_LOOKBACK,
        ).order_by("finished_at")[:SWEEP_BATCH]
    )
    known = set(
        Job.objects.filter(key__in=[deploy_key(d) for d in deploys]).values_list(
            "key", flat=True
        )
    )
    missed = [d for d in deploys if deploy_key(d) not in known]
    for deploy in missed:
        schedule_deploy_feedback(deploy, now)
    return len(missed)


def merge_requests_of_release(release: Release) -> list[MergeRequest]:
    """Return the merge requests whose commits are in ``release``."""
    return list(
        MergeRequest.objects.filter(
            pk__in=release.release_commits.filter(
                commit__merge_request__isnull=False
            ).values("commit__merge_request")
        )
        .select_related("repository")
        .order_by("repository_id", "number")
    )


def cannot_note(merge_request: MergeRequest) -> str:
    """Return why Fixtrail cannot write on ``merge_request``, or ""."""
    repository = merge_request.repository
    if repository.provider not in API_PROVIDERS:
        return (
            f"{repository.name} is a plain git repository: there is no merge "
            "request to write on"
        )
    if not can_use_api(repository):
        return (
            f"{repository.name} has no access token: add one so Fixtrail can "
            "write notes"
        )
    return ""


def last_note_job(merge_request: MergeRequest) -> Job | None:
    """Return the newest note job of ``merge_request`` (one query)."""
    return (
        Job.objects.filter(kind=NOTE_KIND, owner=merge_request_owner(merge_request))
        .order_by("-created_at", "-pk")
        .first()
    )


def request_merge_request_note(
    merge_request: MergeRequest, environment: str = "", key: str | None = None
) -> Job:
    """Queue a job that writes (or edits) the note on ``merge_request``.

    A note job of it that has not run yet is returned instead of a second
    one, so two requests close together do not race to post two notes.
    Raises FeedbackError when Fixtrail cannot write there.
    """
    reason = cannot_note(merge_request)
    if reason:
        raise FeedbackError(reason)
    waiting = (
        Job.objects.filter(
            kind=NOTE_KIND,
            owner=merge_request_owner(merge_request),
            state__in=[Job.State.PENDING, Job.State.RUNNING],
        )
        .order_by("pk")
        .first()
    )
    if waiting is not None:
        return waiting
    return enqueue(
        NOTE_KIND,
        {"merge_request": merge_request.pk, "environment": environment},
        key=key,
        owner=merge_request_owner(merge_request),
    )


@dataclass
class FeedbackRequest:
    """The note jobs queued for a release, and the merge requests skipped
    with the reason."""

    jobs: list[Job]
    skipped: list[tuple[MergeRequest, str]]


def request_release_feedback(
    release: Release, environment: str = "", deploy: Deploy | None = None
) -> FeedbackRequest:
    """Queue a note job for each merge request of ``release``.

    With ``deploy``, each job is keyed to it, so a retried deploy job never
    queues a merge request's note twice.
    """
    jobs, skipped = [], []
    for merge_request in merge_requests_of_release(release):
        key = f"mr-note:{merge_request.pk}:deploy:{deploy.pk}" if deploy else None
        try:
            jobs.append(request_merge_request_note(merge_request, environment, key))
        except FeedbackError as exc:
            skipped.append((merge_request, exc.message))
    return FeedbackRequest(jobs, skipped)


def write_merge_request_note(
    merge_request: MergeRequest, environment: str = "", now: dt.datetime | None = None
) -> dict:
    """Write the note on ``merge_request`` now, editing Fixtrail's earlier
    note there, and return what was done.

    Nothing is posted while there is nothing to report and no note yet; an
    existing note is brought up to date even when its issues are gone.
    Raises FeedbackError or ProviderError; runs in a job, never in a request.
    """
    reason = cannot_note(merge_request)
    if reason:
        raise FeedbackError(reason)
    now = now or timezone.now()
    report = build_report(merge_request, environment)
    listed = sum(r.new_total + r.regressed_total for r in report.releases)
    if not listed and not merge_request.feedback_note_id:
        return {"note_id": "", "issues": 0, "skipped": "nothing to report yet"}
    body = compose_note(report, now)
    note_id = provider_for(merge_request.repository).upsert_note(
        merge_request.number, body, note_id=merge_request.feedback_note_id
    )
    MergeRequest.objects.filter(pk=merge_request.pk).update(
        feedback_note_id=note_id, feedback_sent_at=now
    )
    return {
        "note_id": note_id,
        "issues": listed,
        "edited": note_id == merge_request.feedback_note_id,
    }
