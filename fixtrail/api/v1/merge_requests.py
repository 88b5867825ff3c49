"""Merge requests in Fixtrail's own API: what the merge-request pages show,
and writing Fixtrail's notes on them now rather than after a deploy's
watch window.

Reading needs ``project:read`` (viewers); writing notes needs
``project:releases``, the scope release tooling in CI carries, and the
member role.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from fixtrail.accounts.models import Membership, Role, User
from fixtrail.api.access import membership_for, parse_id
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.issues.models import Issue
from fixtrail.jobs.models import Job
from fixtrail.releases.feedback import (
    FeedbackError,
    cannot_note,
    last_note_job,
    request_merge_request_note,
    request_release_feedback,
)
from fixtrail.releases.merge_requests import attributed_issues, reference
from fixtrail.releases.models import MergeRequest, Release

router = Router(tags=["merge requests"])

# Rows of one answer: the newest merge requests, the newest commits, the
# most frequent issues of each release.
LIST_ROWS = 100
COMMIT_ROWS = 200
ISSUE_ROWS = 50


class NoteState(Schema):
    note_id: str = Field(description="The note's id on GitLab/GitHub; '' if none.")
    sent_at: dt.datetime | None
    job_state: str | None = Field(
        description="State of the newest note job: pending, running, done, failed."
    )
    job_error: str = Field(description="Why the newest note job failed, if it did.")
    can_write: bool
    cannot_write_reason: str


class MergeRequestOut(Schema):
    id: int
    repository: str
    provider: str
    number: int
    reference: str = Field(description="'!7' on GitLab, '#7' on GitHub.")
    title: str
    author: str
    url: str
    merged_at: dt.datetime | None
    commit_count: int
    note: NoteState


class CommitOut(Schema):
    sha: str
    message: str
    author_name: str
    author_email: str
    authored_at: dt.datetime | None


class IssueRef(Schema):
    id: int
    short_id: str
    title: str
    times_seen: int
    user_count: int
    last_seen: dt.datetime


class ReleaseIssuesOut(Schema):
    version: str
    new: list[IssueRef]
    regressed: list[IssueRef]
    new_total: int
    regressed_total: int


class MergeRequestDetailOut(MergeRequestOut):
    commits: list[CommitOut]
    releases: list[ReleaseIssuesOut] = Field(
        description="Per release containing its commits, the issues first seen "
        "or regressed in it (the most frequent of each)."
    )


class NoteJobOut(Schema):
    job_id: int
    merge_request: int
    state: str


class SkippedOut(Schema):
    merge_request: int
    reason: str


class ReleaseNotesIn(Schema):
    environment: str = Field(
        "", max_length=64, description="List only issues seen in this environment."
    )


class ReleaseNotesOut(Schema):
    queued: list[NoteJobOut]
    skipped: list[SkippedOut]


def _merge_request_for(
    user: User, org_slug: str, mr_id: str, minimum: str = Role.VIEWER
) -> tuple[MergeRequest, Membership]:
    membership = membership_for(user, org_slug, minimum)
    merge_request = (
        MergeRequest.objects.select_related("repository__organization")
        .annotate(commit_count=Count("commits"))
        .filter(pk=parse_id(mr_id), repository__organization=membership.organization)
        .first()
    )
    if merge_request is None:
        raise Http404("No such merge request")
    return merge_request, membership


def _note_state(merge_request: MergeRequest) -> dict:
    job = last_note_job(merge_request)
    reason = cannot_note(merge_request)
    return {
        "note_id": merge_request.feedback_note_id,
        "sent_at": merge_request.feedback_sent_at,
        "job_state": job.state if job else None,
        "job_error": job.last_error if job else "",
        "can_write": not reason,
        "cannot_write_reason": reason,
    }


def _merge_request_out(merge_request: MergeRequest) -> dict:
    """Return a merge request's answer (two queries for its note state)."""
    return {
        "id": merge_request.pk,
        "repository": merge_request.repository.name,
        "provider": merge_request.repository.provider,
        "number": merge_request.number,
        "reference": reference(merge_request),
        "title": merge_request.title,
        "author": merge_request.author,
        "url": merge_request.url,
        "merged_at": merge_request.merged_at,
        "commit_count": merge_request.commit_count,
        "note": _note_state(merge_request),
    }


def _issue_ref(issue: Issue) -> dict:
    return {
        "id": issue.pk,
        "short_id": issue.short_id_display,
        "title": issue.title,
        "times_seen": issue.times_seen,
        "user_count": issue.user_count,
        "last_seen": issue.last_seen,
    }


def _job_out(job: Job) -> dict:
    return {
        "job_id": job.pk,
        "merge_request": job.payload.get("merge_request"),
        "state": job.state,
    }


@router.get(
    "/organizations/{org_slug}/merge-requests",
    response=list[MergeRequestOut],
    auth=scoped("project:read"),
)
def merge_requests(
    request: HttpRequest, org_slug: str, release: str = ""
) -> list[dict]:
    """The organization's merge requests, most recently merged first (100);
    with ``release``, those whose commits are in that release."""
    membership = membership_for(request.user, org_slug)
    rows = MergeRequest.objects.filter(repository__organization=membership.organization)
    if release:
        rows = rows.filter(
            pk__in=Release.objects.filter(
                organization=membership.organization, version=release
            ).values("release_commits__commit__merge_request")
        )
    rows = (
        rows.select_related("repository")
        .annotate(commit_count=Count("commits"))
        .order_by("-merged_at", "-pk")[:LIST_ROWS]
    )
    return [_merge_request_out(mr) for mr in rows]


@router.get(
    "/organizations/{org_slug}/merge-requests/{mr_id}",
    response=MergeRequestDetailOut,
    auth=scoped("project:read"),
)
def merge_request(request: HttpRequest, org_slug: str, mr_id: str) -> dict:
    """A merge request with its commits and the issues attributed to it."""
    merge_request, _ = _merge_request_for(request.user, org_slug, mr_id)
    commits = merge_request.commits.order_by("-authored_at", "-pk")[:COMMIT_ROWS]
    releases = attributed_issues(merge_request, limit=ISSUE_ROWS)
    return {
        **_merge_request_out(merge_request),
        "commits": [
            {
                "sha": c.sha,
                "message": c.message,
                "author_name": c.author_name,
                "author_email": c.author_email,
                "authored_at": c.authored_at,
            }
            for c in commits
        ],
        "releases": [
            {
                "version": found.release.version,
                "new": [_issue_ref(i) for i in found.new],
                "regressed": [_issue_ref(i) for i in found.regressed],
                "new_total": found.new_total,
                "regressed_total": found.regressed_total,
            }
            for found in releases
        ],
    }


@router.post(
    "/organizations/{org_slug}/merge-requests/{mr_id}/note",
    response={202: NoteJobOut},
    auth=scoped("project:releases"),
)
def write_note(request: HttpRequest, org_slug: str, mr_id: str) -> Status:
    """Queue Fixtrail's note on the merge request now (members). The worker
    writes it; the merge request's ``note`` says how it went."""
    merge_request, _ = _merge_request_for(request.user, org_slug, mr_id, Role.MEMBER)
    try:
        job = request_merge_request_note(merge_request)
    except FeedbackError as exc:
        raise BadRequest(exc.message) from None
    return Status(202, _job_out(job))


@router.post(
    "/organizations/{org_slug}/releases/{version}/merge-request-notes",
    response={202: ReleaseNotesOut},
    auth=scoped("project:releases"),
)
def write_release_notes(
    request: HttpRequest, org_slug: str, version: str, body: ReleaseNotesIn
) -> Status:
    """Queue Fixtrail's note on each merge request of a release now
    (members), as a deploy's watch window would."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    release = Release.objects.filter(
        organization=membership.organization, version=version
    ).first()
    if release is None:
        raise Http404("No such release")
    queued = request_release_feedback(release, body.environment)
    return Status(
        202,
        {
            "queued": [_job_out(job) for job in queued.jobs],
            "skipped": [
                {"merge_request": mr.pk, "reason": reason}
                for mr, reason in queued.skipped
            ],
        },
    )
