"""Let new events join issues imported without a usable hash.

An issue imported from Sentry carries Sentry's grouping hashes, which
Fixtrail's grouping never produces. So digest asks here before it creates
an issue for an unknown hash: an imported issue of the same project, still
awaiting its first event, with the same title and culprit takes the hash,
and from then on groups like any other issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from django.db import transaction

from fixtrail.adoption.models import ImportedIssue
from fixtrail.issues.models import IssueHash


class _Event(Protocol):
    title: str
    culprit: str


def claim_imported_issues(
    project_id: int, grouping_version: int, unknown: Mapping[str, Sequence[_Event]]
) -> dict[str, int]:
    """Attach hashes of ``unknown`` (hash → its events) to matching imported
    issues; return the issue id of each hash attached.

    One query when the project has no imported issue awaiting a match.
    """
    awaiting = {
        (title, culprit): (row_id, issue_id)
        for row_id, issue_id, title, culprit in ImportedIssue.objects.filter(
            project_id=project_id, awaiting_match=True
        ).values_list("pk", "issue_id", "issue__title", "issue__culprit")
    }
    claimed: dict[str, int] = {}
    for group_hash, events in sorted(unknown.items()):
        first = events[0]
        match = awaiting.pop((first.title, first.culprit), None)
        if match is None:
            continue
        row_id, issue_id = match
        with transaction.atomic():
            # Only one digest worker may take the match.
            if not ImportedIssue.objects.filter(pk=row_id, awaiting_match=True).update(
                awaiting_match=False
            ):
                continue
            hash_row, _ = IssueHash.objects.get_or_create(
                project_id=project_id,
                hash=group_hash,
                defaults={"issue_id": issue_id, "grouping_version": grouping_version},
            )
        claimed[group_hash] = hash_row.issue_id
    return claimed
