"""Moving a project to a newer grouping version: what would change, then
the change itself.

A project keeps the grouping version it started with, because a new
version hashes events differently: without care, every issue would split
into a new one. Upgrading therefore:

1. previews: regroups the project's last PREVIEW_EVENTS events under the
   new version and counts the issues that would merge (several issues'
   events now hash alike) and split (one issue's events now hash apart);
2. applies: for each new hash of that sample, records it for the issue
   most of its events belong to (so the next events of an existing issue
   still go to it), merges the issues the new version puts together
   (the usual merge, recorded in their activity) unless told not to, and
   switches the project's version. Events of issues outside the sample
   open a new issue the first time the new version sees them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from fixtrail.accounts.models import User
from fixtrail.core import upserts
from fixtrail.digest.config import project_config
from fixtrail.digest.grouping import GROUPING_VERSIONS, compute_grouping
from fixtrail.events.models import Event
from fixtrail.events.storage import CorruptEventData
from fixtrail.issues import actions
from fixtrail.issues.models import Issue, IssueHash
from fixtrail.projects.models import Project

# The sample a preview regroups: recent enough to be the issues that
# matter, small enough to run inside a page request (about a second).
PREVIEW_EVENTS = 1000


class RegroupError(ValueError):
    """An upgrade that cannot be done; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RegroupPreview:
    """What moving a project to ``to_version`` would do to its recent events."""

    from_version: int
    to_version: int
    events: int = 0
    issues: int = 0
    issues_after: int = 0
    # Issues that would be merged into another one, and issues whose events
    # would go to more than one issue.
    merges: int = 0
    splits: int = 0
    # new hash -> {issue id: events of the sample}
    mapping: dict[str, Counter] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """Return the preview as JSON-ready data."""
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "events": self.events,
            "issues": self.issues,
            "issues_after": self.issues_after,
            "merges": self.merges,
            "splits": self.splits,
        }


def _check_version(project: Project, version: int) -> None:
    if version not in GROUPING_VERSIONS:
        raise RegroupError(f"There is no grouping version {version}.")
    if version <= project.grouping_version:
        raise RegroupError(
            f"The project already uses grouping version {project.grouping_version}; "
            f"it can only move to a newer one."
        )


def preview_upgrade(project: Project, version: int) -> RegroupPreview:
    """Regroup the project's last PREVIEW_EVENTS events under ``version``
    and count merges and splits; raise RegroupError for a bad version."""
    _check_version(project, version)
    config = project_config(project)
    preview = RegroupPreview(project.grouping_version, version)
    by_issue: dict[int, set[str]] = defaultdict(set)
    events = Event.objects.filter(project=project).order_by("-received_at", "-pk")[
        :PREVIEW_EVENTS
    ]
    for event in events.only("pk", "issue_id", "data"):
        try:
            data = event.get_data()
        except CorruptEventData:
            continue
        grouping = compute_grouping(
            data,
            version=version,
            fingerprint_rules=config.fingerprint_rules,
            stacktrace_rules=config.options.stacktrace_rules,
        )
        preview.mapping.setdefault(grouping.hash, Counter())[event.issue_id] += 1
        by_issue[event.issue_id].add(grouping.hash)
        preview.events += 1
    preview.issues = len(by_issue)
    preview.issues_after = len(preview.mapping)
    preview.merges = sum(len(c) - 1 for c in preview.mapping.values())
    preview.splits = sum(len(h) - 1 for h in by_issue.values())
    return preview


def apply_upgrade(
    project: Project,
    version: int,
    *,
    user: User | None,
    now: dt.datetime,
    merge: bool = True,
) -> RegroupPreview:
    """Move ``project`` to grouping ``version`` (see the module docstring);
    return the preview it acted on. Raises RegroupError for a bad version."""
    preview = preview_upgrade(project, version)
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        _check_version(locked, version)
        rows = []
        # Issues merged away by an earlier hash, and where they went.
        moved: dict[int, int] = {}

        def current(issue_id: int) -> int:
            while issue_id in moved:
                issue_id = moved[issue_id]
            return issue_id

        for new_hash, counts in sorted(preview.mapping.items()):
            issue_ids = list(dict.fromkeys(current(i) for i, _ in counts.most_common()))
            target = issue_ids[0]
            if merge and len(issue_ids) > 1:
                issues = list(Issue.objects.filter(pk__in=issue_ids))
                if len(issues) > 1:
                    target = actions.merge_issues(issues, user=user, now=now).pk
                    for issue in issues:
                        if issue.pk != target:
                            moved[issue.pk] = target
            rows.append(
                {
                    "project": project.pk,
                    "hash": new_hash,
                    "issue": target,
                    "grouping_version": version,
                }
            )
        rows = [{**row, "issue": current(row["issue"])} for row in rows]
        upserts.insert_new(IssueHash, rows, key=("project", "hash"))
        Project.objects.filter(pk=project.pk).update(grouping_version=version)
    project.grouping_version = version
    return preview
