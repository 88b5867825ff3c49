"""Issues inside digest's transaction: lock the ones a batch touches, create
the new ones once however many workers race, and apply regressions,
escalations and the counters a batch adds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, Min

from fixtrail.core import upserts
from fixtrail.digest.prepare import BatchResult, PreparedEvent
from fixtrail.events.models import (
    Event,
)
from fixtrail.issues import lifecycle
from fixtrail.issues.actions import ESCALATED_FIELDS, REGRESSED_FIELDS
from fixtrail.issues.models import (
    Activity,
    Issue,
    IssueHash,
    IssueUser,
    Status,
    Substatus,
    TagValue,
)
from fixtrail.projects.models import Project
from fixtrail.releases.fixes import fix_details

# Bulk inserts are split into statements of this many rows: big enough that
# per-statement overhead vanishes, small enough for SQLite's parameter cap.
BULK_BATCH_SIZE = 500


# -- the transaction ----------------------------------------------------------------


@dataclass
class IssueBatch:
    """What the batch adds to one issue."""

    events: list[PreparedEvent] = field(default_factory=list)
    new_users: int = 0


def lock_issues(ids: Iterable[int]) -> dict[int, Issue]:
    """Lock and return the issues with these ids, in id order.

    The texts digest never reads are left out of the query (touching them
    on these instances would cost a query each).
    """
    return {
        issue.pk: issue
        for issue in Issue.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .defer("title", "culprit", "value", "metadata")
        .order_by("pk")
    }


def create_issues(
    project: Project, groups: dict[str, list[PreparedEvent]], result: BatchResult
) -> dict[str, Issue]:
    """Create an issue per hash in ``groups``; return them by hash.

    A hash another process claimed meanwhile (PostgreSQL) maps to that
    process's issue instead, and the issue made here is deleted again.
    """
    project_id = project.pk
    hashes = sorted(groups)
    count = len(hashes)
    Project.objects.filter(pk=project_id).update(
        next_short_id=F("next_short_id") + count
    )
    end = Project.objects.filter(pk=project_id).values_list("next_short_id", flat=True)[
        0
    ]
    issues = []
    for offset, group_hash in enumerate(hashes):
        first = min(groups[group_hash], key=lambda e: e.timestamp)
        issues.append(
            Issue(
                project_id=project_id,
                short_id=end - count + offset,
                title=first.title,
                culprit=first.culprit,
                type=first.type,
                value=first.value,
                level=first.level,
                platform=first.platform,
                metadata=first.metadata,
                first_seen=first.timestamp,
                last_seen=first.timestamp,
                times_seen=0,
                user_count=0,
                first_release=first.release,
                last_release=first.release,
                status=Status.UNRESOLVED,
                substatus=Substatus.NEW,
            )
        )
    Issue.objects.bulk_create(issues, batch_size=BULK_BATCH_SIZE)
    by_hash = dict(zip(hashes, issues, strict=True))
    claimed = upserts.insert_new(
        IssueHash,
        [
            {
                "project": project_id,
                "hash": h,
                "issue": by_hash[h].pk,
                "grouping_version": project.grouping_version,
            }
            for h in hashes
        ],
        key=("project", "hash"),
    )
    lost = [h for h in hashes if (project_id, h) not in claimed]
    if lost:
        Issue.objects.filter(pk__in=[by_hash[h].pk for h in lost]).delete()
        winners = dict(
            IssueHash.objects.filter(project_id=project_id, hash__in=lost).values_list(
                "hash", "issue_id"
            )
        )
        locked = lock_issues(winners.values())
        for h in lost:
            by_hash[h] = locked[winners[h]]
    won = [by_hash[h] for h in hashes if h not in lost]
    result.issues_created += len(won)
    result.new_issue_ids += [issue.pk for issue in won]
    Activity.objects.bulk_create(
        Activity(
            issue=issue, kind=Activity.Kind.FIRST_SEEN, created_at=issue.first_seen
        )
        for issue in won
    )
    return by_hash


def _release_first_seen(
    project_id: int, releases: set[str], batch_first: dict[str, dt.datetime]
) -> dict[str, dt.datetime]:
    """When the project first saw each release, this batch included."""
    stored = dict(
        TagValue.objects.filter(
            issue__project_id=project_id, key="release", value__in=sorted(releases)
        )
        .values_list("value")
        .annotate(first=Min("first_seen"))
        .values_list("value", "first")
    )
    for release, moment in batch_first.items():
        if release not in stored:
            stored[release] = moment
    return stored


def apply_regressions(
    project_events: dict[int, list[PreparedEvent]],
    issues: dict[int, Issue],
    batches: dict[int, IssueBatch],
    now: dt.datetime,
    result: BatchResult,
) -> list[Activity]:
    """Mark the resolved issues whose new events are regressions (as
    fixtrail.issues.lifecycle decides from the resolution and the events'
    releases) as regressed; return their REGRESSION activities."""
    activities = []
    for project_id, events in project_events.items():
        resolved = [
            issue
            for issue in (issues[i] for i in batches)
            if issue.project_id == project_id and issue.status == Status.RESOLVED
        ]
        if not resolved:
            continue
        batch_first: dict[str, dt.datetime] = {}
        for event in events:
            if event.release and (
                event.release not in batch_first
                or event.received_at < batch_first[event.release]
            ):
                batch_first[event.release] = event.received_at
        wanted = set(batch_first) | {
            i.resolved_in_release for i in resolved if i.resolved_in_release
        }
        first_seen = _release_first_seen(project_id, wanted, batch_first)
        for issue in resolved:
            resolution = issue.resolution()
            for event in sorted(batches[issue.pk].events, key=lambda e: e.received_at):
                if lifecycle.is_regression(
                    resolution,
                    event_release=event.release,
                    event_received_at=event.received_at,
                    release_first_seen=first_seen,
                ):
                    # A fix-by-commit regression names its fix.
                    fix = fix_details(project_id, issue.resolved_in_commit)
                    for name, value in REGRESSED_FIELDS.items():
                        setattr(issue, name, value)
                    activities.append(
                        Activity(
                            issue=issue,
                            kind=Activity.Kind.REGRESSION,
                            data={
                                "release": event.release,
                                "event_id": event.event_id,
                                **fix,
                            },
                            created_at=now,
                        )
                    )
                    result.regressions += 1
                    result.regressed_issue_ids.append(issue.pk)
                    break
    return activities


def apply_escalations(
    issues: dict[int, Issue], now: dt.datetime, result: BatchResult
) -> list[Activity]:
    """Bring back ignored issues whose condition the batch met (run after
    the batch's events and users are stored, since windows count them)."""
    activities = []
    for issue in issues.values():
        conditions = issue.ignore_conditions()
        if conditions is None or conditions.is_forever:
            continue
        since = issue.ignored_at or now
        in_window = users_in_window = None
        if conditions.count is not None and conditions.window_minutes:
            start = max(since, now - dt.timedelta(minutes=conditions.window_minutes))
            in_window = Event.objects.filter(
                issue_id=issue.pk, timestamp__gte=start
            ).count()
        if conditions.user_count is not None and conditions.user_window_minutes:
            start = max(
                since, now - dt.timedelta(minutes=conditions.user_window_minutes)
            )
            users_in_window = IssueUser.objects.filter(
                issue_id=issue.pk, first_seen__gte=start
            ).count()
        reason = lifecycle.ignore_end_reason(
            conditions,
            now=now,
            times_seen=issue.times_seen,
            user_count=issue.user_count,
            count_in_window=in_window,
            users_in_window=users_in_window,
        )
        if reason is not None:
            for name, value in ESCALATED_FIELDS.items():
                setattr(issue, name, value)
            activities.append(
                Activity(
                    issue=issue,
                    kind=Activity.Kind.ESCALATING,
                    data={"reason": reason},
                    created_at=now,
                )
            )
            result.escalations += 1
            result.escalated_issue_ids.append(issue.pk)
    return activities


# The issue fields every batch changes; state changes (regressions, ignores
# ending) are written separately, for the few issues they concern.
COUNTER_FIELDS = (
    "times_seen",
    "user_count",
    "first_seen",
    "last_seen",
    "first_release",
    "last_release",
)


def count_into_issues(issues: dict[int, Issue], batches: dict[int, IssueBatch]) -> None:
    """Add each batch's events to its issue's counters and first/last seen
    and last release, in memory; the caller writes the issues once."""
    for issue_id, batch in batches.items():
        issue = issues[issue_id]
        events = batch.events
        issue.times_seen += len(events)
        issue.user_count += batch.new_users
        first_seen, last_seen = issue.first_seen, issue.last_seen
        issue.first_seen = min(first_seen, min(e.timestamp for e in events))
        issue.last_seen = max(last_seen, max(e.timestamp for e in events))
        released = [e for e in events if e.release]
        if not released:
            continue
        # Of events with the same time, the last one queued is the latest.
        newest = max(reversed(released), key=lambda e: e.timestamp)
        oldest = min(released, key=lambda e: e.timestamp)
        if newest.timestamp >= last_seen or not issue.last_release:
            issue.last_release = newest.release
        if oldest.timestamp < first_seen or not issue.first_release:
            issue.first_release = oldest.release
