"""Events and what rides with them inside digest's transaction: claiming
event keys (what makes redelivery harmless), the event rows, attachments,
reports, stats and processing errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from fixtrail.adoption import forwarding
from fixtrail.adoption.matching import claim_imported_issues
from fixtrail.core import upserts
from fixtrail.digest.config import ProjectConfig
from fixtrail.digest.counts import write_aggregates
from fixtrail.digest.issue_writes import (
    COUNTER_FIELDS,
    IssueBatch,
    apply_escalations,
    apply_regressions,
    count_into_issues,
    create_issues,
    lock_issues,
)
from fixtrail.digest.prepare import (
    BatchResult,
    FailedItem,
    Prepared,
    PreparedEvent,
    hour_of,
)
from fixtrail.events.models import (
    Attachment,
    Event,
    EventKey,
    ItemCount,
    Outcome,
    ProcessingError,
    SessionCount,
    UserReport,
)
from fixtrail.ingest.attachments import attachment_slot
from fixtrail.issues.actions import ESCALATED_FIELDS, REGRESSED_FIELDS
from fixtrail.issues.models import (
    Activity,
    Issue,
    IssueHash,
)
from fixtrail.projects.models import Project

logger = logging.getLogger(__name__)


def _claim_new_events(events: list[PreparedEvent], result: BatchResult):
    """Insert the events' keys; return the events whose keys were new."""
    unique: dict[tuple[int, str], PreparedEvent] = {}
    for event in events:
        unique.setdefault((event.project_id, event.event_id), event)
    inserted = upserts.insert_new(
        EventKey,
        [
            {"project": pid, "event_id": eid, "received_at": event.received_at}
            for (pid, eid), event in unique.items()
        ],
        key=("project", "event_id"),
    )
    fresh = [event for key, event in unique.items() if key in inserted]
    result.duplicates += len(events) - len(fresh)
    return fresh


def write_events(
    events: list[PreparedEvent],
    configs: dict[int, ProjectConfig],
    now: dt.datetime,
    result: BatchResult,
) -> None:
    """Store the events not stored before, with their issues, counters and
    aggregates."""
    if not events:
        return
    events = _claim_new_events(events, result)
    if not events:
        return
    by_project: dict[int, list[PreparedEvent]] = defaultdict(list)
    for event in events:
        by_project[event.project_id].append(event)
    hashes = sorted({e.grouping_hash for e in events})
    known = {
        (project_id, group_hash): issue_id
        for project_id, group_hash, issue_id in IssueHash.objects.filter(
            project_id__in=list(by_project), hash__in=hashes
        ).values_list("project_id", "hash", "issue_id")
    }
    issues = lock_issues(known.values())
    issue_of: dict[tuple[int, str], Issue] = {
        key: issues[issue_id] for key, issue_id in known.items() if issue_id in issues
    }
    # Projects in id order: creating issues locks the project row (short
    # ids), and two workers must take those locks in the same order.
    for project_id, project_events in sorted(by_project.items()):
        unknown: dict[str, list[PreparedEvent]] = defaultdict(list)
        for event in project_events:
            if (project_id, event.grouping_hash) not in issue_of:
                unknown[event.grouping_hash].append(event)
        if unknown:
            # Issues imported from another server wait for their first
            # event by title and culprit (fixtrail.adoption.matching).
            project = configs[project_id].project
            adopted = claim_imported_issues(
                project_id, project.grouping_version, unknown
            )
            locked = lock_issues(adopted.values())
            issues.update(locked)
            for group_hash, issue_id in adopted.items():
                issue_of[(project_id, group_hash)] = locked[issue_id]
                del unknown[group_hash]
        if unknown:
            created = create_issues(configs[project_id].project, unknown, result)
            for group_hash, issue in created.items():
                issue_of[(project_id, group_hash)] = issue
                issues[issue.pk] = issue
    batches: dict[int, IssueBatch] = defaultdict(IssueBatch)
    rows = []
    for event in events:
        issue = issue_of[(event.project_id, event.grouping_hash)]
        batches[issue.pk].events.append(event)
        rows.append(
            {
                "project": event.project_id,
                "issue": issue.pk,
                "event_id": event.event_id,
                "timestamp": event.timestamp,
                "received_at": event.received_at,
                "title": event.title,
                "level": event.level,
                "release": event.release,
                "environment": event.environment,
                "user_identity": event.identity,
                "grouping_hash": event.grouping_hash,
                "data": event.blob,
                "size": event.size,
            }
        )
    activities = apply_regressions(by_project, issues, batches, now, result)
    upserts.insert_rows(Event, rows)
    result.events_stored += len(rows)
    write_aggregates(batches)
    count_into_issues(issues, batches)
    touched = {pk: issues[pk] for pk in batches}
    activities += apply_escalations(touched, now, result)
    upserts.update_rows(
        Issue,
        [
            {"pk": issue.pk, **{name: getattr(issue, name) for name in COUNTER_FIELDS}}
            for issue in touched.values()
        ],
        COUNTER_FIELDS,
    )
    for activity in activities:
        fields = (
            REGRESSED_FIELDS
            if activity.kind == Activity.Kind.REGRESSION
            else ESCALATED_FIELDS
        )
        Issue.objects.filter(pk=activity.issue.pk).update(**fields)
    Activity.objects.bulk_create(activities)


def write_others(prepared: Prepared, now: dt.datetime, result: BatchResult) -> None:
    """Store what rides with the events: forwards, filtered counts and
    outcomes, sessions, attachments and user reports."""
    if prepared.forwards or prepared.forwards_skipped:
        forwarding.store_forwards(prepared.forwards, prepared.forwards_skipped)
    hour = hour_of(now)
    outcomes = dict(prepared.outcomes)
    for (project_id, reason), count in prepared.filtered.items():
        key = (project_id, hour, "error", str(Outcome.FILTERED), reason)
        outcomes[key] = outcomes.get(key, 0) + count
        result.filtered += count
    if outcomes or prepared.sessions:
        # Stats name projects by id; rows for deleted ones are dropped
        # rather than failing the batch on the foreign key.
        ids = {key[0] for key in outcomes} | {key[0] for key in prepared.sessions}
        existing = set(Project.objects.filter(pk__in=ids).values_list("pk", flat=True))
        upserts.upsert_add(
            ItemCount,
            [
                {
                    "project": p,
                    "hour": h,
                    "item_type": t,
                    "outcome": o,
                    "reason": r,
                    "count": c,
                }
                for (p, h, t, o, r), c in outcomes.items()
                if p in existing
            ],
            key=("project", "hour", "item_type", "outcome", "reason"),
            add=("count",),
        )
        upserts.upsert_add(
            SessionCount,
            [
                {
                    "project": p,
                    "day": d,
                    "release": r,
                    "environment": e,
                    "status": s,
                    "count": c,
                }
                for (p, d, r, e, s), c in prepared.sessions.items()
                if p in existing
            ],
            key=("project", "day", "release", "environment", "status"),
            add=("count",),
        )
    if prepared.attachments:
        # A redelivered item, or an envelope sent again with the same event
        # id, brings an attachment the event has already: the first stays.
        stored = {
            (project_id, attachment_slot(path))
            for project_id, path in Attachment.objects.filter(
                project_id__in={a.project_id for a in prepared.attachments},
                event_id__in={a.event_id for a in prepared.attachments},
            ).values_list("project_id", "path")
        }
        fresh = {}
        for attachment in prepared.attachments:
            key = (attachment.project_id, attachment_slot(attachment.path))
            if key not in stored and key not in fresh:
                fresh[key] = attachment
        Attachment.objects.bulk_create(fresh.values())
        result.attachments += len(fresh)
    if prepared.reports:
        UserReport.objects.bulk_create(prepared.reports)
        result.reports += len(prepared.reports)
    write_failures(prepared.failed, result)


def write_failures(failed: list[FailedItem], result: BatchResult) -> None:
    """Store failed items as ProcessingErrors (of projects that still
    exist) and count them."""
    rows = [
        ProcessingError(
            project_id=item.project_id,
            event_id=item.event_id,
            error=item.error,
            excerpt=item.excerpt,
        )
        for item in failed
        if item.project_id is not None
    ]
    if rows:
        ids = set(
            Project.objects.filter(pk__in={r.project_id for r in rows}).values_list(
                "pk", flat=True
            )
        )
        ProcessingError.objects.bulk_create(r for r in rows if r.project_id in ids)
    for item in failed:
        logger.warning(
            "digest could not store an item: %s",
            item.error,
            extra={"project_id": item.project_id, "event_id": item.event_id},
        )
    result.errors += len(failed)
