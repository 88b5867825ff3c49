"""What the pages show about releases: the issue page's "first seen in
release X, deployed at T", suspect and fixing commits; the release page;
a project's release list. Each function runs the queries its page needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.db.models import Q, Sum

from fixtrail.issues.models import Activity, Issue, Status, TagValue
from fixtrail.projects.models import Project
from fixtrail.releases import messages
from fixtrail.releases.health import release_health
from fixtrail.releases.models import Commit, Deploy, MergeRequest, Release
from fixtrail.releases.suspects import Suspect, suspect_commits

# Rows per section of the release page; the API pages through all of them.
MAX_ROWS = 100
# Releases on a project's release list.
MAX_RELEASES = 50


def release_path(organization_slug: str, version: str) -> str:
    """Return the release page's path, the version percent-encoded (it may
    hold "/", "@", "+", "#" or spaces)."""
    return f"/organizations/{organization_slug}/releases/{quote(version, safe='')}/"


def commit_link(commit: Commit) -> str:
    """Return the commit's web page, or "" (reads commit.repository)."""
    repository = commit.repository
    return messages.commit_url(repository.provider, repository.url, commit.sha)


@dataclass(frozen=True)
class CommitRow:
    commit: Commit
    url: str
    merge_request: MergeRequest | None


def _commit_row(commit: Commit) -> CommitRow:
    return CommitRow(commit, commit_link(commit), commit.merge_request)


@dataclass(frozen=True)
class SuspectRow:
    suspect: Suspect
    url: str


def issue_overview(issue: Issue) -> dict:
    """Return the issue page's release context: the first release with its
    page and latest deploy, suspect commits, and the fixing commit."""
    org = issue.project.organization
    first = None
    deploy = None
    if issue.first_release:
        first = Release.objects.filter(
            organization=org, version=issue.first_release
        ).first()
    if first is not None:
        deploys = first.deploys.order_by("-finished_at", "-pk")
        deploy = deploys.filter(environment="production").first() or deploys.first()
    fixing = None
    sha = issue.resolved_in_commit or _regression_fix(issue)
    if sha:
        commit = (
            Commit.objects.filter(sha=sha, repository__organization=org)
            .select_related("repository", "merge_request")
            .first()
        )
        fixing = _commit_row(commit) if commit else None
    return {
        "first_release": first,
        "first_release_url": release_path(org.slug, first.version) if first else "",
        "first_deploy": deploy,
        "suspects": [
            SuspectRow(s, commit_link(s.commit)) for s in suspect_commits(issue)
        ],
        "fixing_commit": fixing,
        "fix_regressed": fixing is not None and issue.status != Status.RESOLVED,
    }


def _regression_fix(issue: Issue) -> str:
    # After a regression the issue no longer holds its resolution; the
    # regression activity kept the fixing commit.
    last = (
        Activity.objects.filter(issue=issue, kind=Activity.Kind.REGRESSION)
        .order_by("-created_at", "-pk")
        .first()
    )
    data = last.data if last is not None and isinstance(last.data, dict) else {}
    return str(data.get("commit") or "")[:64]


def _event_count(project_ids: list[int], version: str) -> int:
    # TagValue holds each issue's count per release: the sum is the
    # release's event count without scanning the event table.
    return (
        TagValue.objects.filter(
            issue__project_id__in=project_ids, key="release", value=version
        ).aggregate(n=Sum("times_seen"))["n"]
        or 0
    )


def previous_release(release: Release) -> Release | None:
    """Return the release created before ``release`` in one of its
    projects (runs a query)."""
    return (
        Release.objects.filter(
            organization_id=release.organization_id,
            projects__in=release.projects.all(),
            created_at__lt=release.created_at,
        )
        .distinct()
        .order_by("-created_at", "-pk")
        .first()
    )


def release_page(release: Release, now: dt.datetime) -> dict:
    """Return everything the release page shows."""
    org = release.organization
    projects = list(release.projects.order_by("slug"))
    project_ids = [p.pk for p in projects]
    rows = release.release_commits.select_related(
        "commit__repository", "commit__merge_request"
    ).order_by("order", "pk")[:MAX_ROWS]
    commits = [_commit_row(r.commit) for r in rows]
    merge_requests = list(
        {
            c.merge_request.pk: c.merge_request for c in commits if c.merge_request
        }.values()
    )
    issues = Issue.objects.filter(project_id__in=project_ids).select_related("project")
    shas = [c.commit.sha for c in commits]
    fixed_here = Q(resolved_in_release=release.version)
    if shas:
        fixed_here |= Q(resolved_in_commit__in=shas)
    resolved = issues.filter(fixed_here)
    regressed_ids = Activity.objects.filter(
        issue__project_id__in=project_ids,
        kind=Activity.Kind.REGRESSION,
        data__release=release.version,
    ).values("issue_id")
    previous = previous_release(release)
    events = _event_count(project_ids, release.version)
    previous_events = _event_count(project_ids, previous.version) if previous else None
    return {
        "release": release,
        "organization": org,
        "projects": projects,
        "commits": commits,
        "merge_requests": merge_requests,
        "deploys": list(release.deploys.order_by("-finished_at", "-pk")[:MAX_ROWS]),
        "new_issues": list(
            issues.filter(first_release=release.version).order_by("-times_seen")[
                :MAX_ROWS
            ]
        ),
        "regressions": list(issues.filter(pk__in=regressed_ids)[:MAX_ROWS]),
        "resolved": list(resolved.distinct()[:MAX_ROWS]),
        "events": events,
        "previous": previous,
        "previous_url": release_path(org.slug, previous.version) if previous else "",
        "previous_events": previous_events,
        "health": [(p, release_health(p.pk, release.version, now)) for p in projects],
    }


@dataclass(frozen=True)
class ReleaseRow:
    release: Release
    url: str
    commit_count: int
    last_deploy: Deploy | None
    new_issues: int
    crash_free: float | None


def project_releases(project: Project, now: dt.datetime) -> list[ReleaseRow]:
    """Return a project's newest releases with their figures."""
    rows = []
    releases = project.releases.order_by("-created_at", "-pk")[:MAX_RELEASES]
    for release in releases:
        health = release_health(project.pk, release.version, now)
        rows.append(
            ReleaseRow(
                release=release,
                url=release_path(project.organization.slug, release.version),
                commit_count=release.release_commits.count(),
                last_deploy=release.deploys.order_by("-finished_at", "-pk").first(),
                new_issues=project.issues.filter(first_release=release.version).count(),
                crash_free=health["crashFreeSessions"],
            )
        )
    return rows
