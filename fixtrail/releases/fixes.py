"""Fix-by-commit: a commit that says ``Fixes BACKEND-1A`` resolves that
issue in that commit as soon as the commit reaches Fixtrail, and a later
regression of the issue names the fixing merge request."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Q

from fixtrail.issues import lifecycle
from fixtrail.issues.actions import resolve_issues
from fixtrail.issues.models import Issue, Status
from fixtrail.releases import messages

if TYPE_CHECKING:
    from fixtrail.releases.models import Commit, Repository


def issues_named(organization_id: int, short_ids: list[str]) -> list[Issue]:
    """Return the issues of an organization named by ``short_ids``
    ("BACKEND-1A"); unknown ones are left out (runs a query)."""
    match = Q(pk__in=[])
    for short_id in short_ids:
        parts = messages.split_short_id(short_id)
        if parts is not None:
            prefix, number = parts
            match |= Q(project__slug__iexact=prefix, short_id=number)
    return list(Issue.objects.filter(match, project__organization_id=organization_id))


def resolve_fixed_issues(
    repository: Repository, commits: list[Commit], *, now: dt.datetime
) -> int:
    """Resolve in each commit the issues its message says it fixes; return
    how many were resolved. An issue already resolved in that same commit
    is left alone, so a commit seen twice resolves once."""
    resolved = 0
    # Oldest first: when two commits fix one issue, the newest one wins.
    for commit in reversed(commits):
        short_ids = messages.fixed_short_ids(commit.message)
        if not short_ids:
            continue
        issues = [
            issue
            for issue in issues_named(repository.organization_id, short_ids)
            if not (
                issue.status == Status.RESOLVED
                and issue.resolved_in_commit == commit.sha[:64]
            )
        ]
        if issues:
            resolved += resolve_issues(
                issues,
                user=None,
                how=lifecycle.IN_COMMIT,
                commit=commit.sha[:64],
                now=now,
            )
    return resolved


def fix_details(project_id: int, sha: str) -> dict:
    """Return what to say about the fixing commit ``sha`` of an issue of
    ``project_id``: the commit and, when known, its merge request (for the
    regression activity). Runs a query."""
    from fixtrail.releases.models import Commit

    if not sha:
        return {}
    commit = (
        Commit.objects.filter(
            sha=sha, repository__organization__projects__pk=project_id
        )
        .select_related("merge_request__repository")
        .first()
    )
    details = {"commit": sha}
    if commit is not None and commit.merge_request is not None:
        mr = commit.merge_request
        details["merge_request"] = str(mr)
        details["merge_request_title"] = mr.title
        details["merge_request_url"] = mr.url
    return details
