"""Retention: keep each project's stored events within its maximum age
(Project.retention_days) and maximum count (Project.max_events_stored).

Issues and their counters are never touched: times_seen, user counts and
first/last seen stay true after the events behind them are gone, which is
what a person reading the issue list expects.

Steps, run by the worker's periodic job (and ``fixtrail manage cleanup``):

1. PostgreSQL: drop the daily partitions that lie wholly before the oldest
   cut-off of any project, which costs nothing whatever their size;
2. per project, delete events older than its own cut-off (the rows the
   partitions did not take, and all of them on SQLite), then its oldest
   events beyond its maximum count, in chunks of DELETE_CHUNK_ROWS, each
   chunk its own transaction so digest never waits long for the lock;
3. delete the event keys, attachments (rows and files), processing errors
   and hourly counts older than the project's cut-off.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from django.db import transaction

from fixtrail.events import partitions
from fixtrail.events.models import Attachment, Event, EventKey, ProcessingError
from fixtrail.issues.models import HourlyCount
from fixtrail.projects.models import DEFAULT_RETENTION_DAYS, Project
from fixtrail.storage import blob_store

logger = logging.getLogger(__name__)

# Rows per DELETE: each chunk holds the write lock (SQLite) for a few tens
# of milliseconds at most, so a digest batch waiting behind it hardly notices.
DELETE_CHUNK_ROWS = 5_000


@dataclass
class RetentionResult:
    """What one retention run removed."""

    partitions_dropped: int = 0
    events_deleted: int = 0
    attachments_deleted: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


def project_cutoff(project: Project, now: dt.datetime) -> dt.datetime:
    """Return the moment before which ``project``'s events are removed."""
    return now - dt.timedelta(days=project.retention_days or DEFAULT_RETENTION_DAYS)


def _delete_events(project_id: int, query, limit: int | None = None) -> int:
    """Delete the events ``query`` selects (oldest first), chunk by chunk,
    with their keys; stop after ``limit`` rows when given."""
    deleted = 0
    while limit is None or deleted < limit:
        size = (
            DELETE_CHUNK_ROWS
            if limit is None
            else min(DELETE_CHUNK_ROWS, limit - deleted)
        )
        # Ordered by the indexed column alone: a tie-break on id would make
        # the database sort every candidate row first.
        rows = list(query.order_by("received_at").values_list("id", "event_id")[:size])
        if not rows:
            break
        with transaction.atomic():
            Event.objects.filter(
                project_id=project_id, id__in=[pk for pk, _ in rows]
            ).delete()
            EventKey.objects.filter(
                project_id=project_id, event_id__in=[eid for _, eid in rows]
            ).delete()
        deleted += len(rows)
    return deleted


def _over_count(project: Project) -> int:
    """Return how many of the project's events exceed its maximum count.

    Reads at most max_events_stored + 1 index entries, not the table.
    """
    limit = project.max_events_stored
    beyond = (
        Event.objects.filter(project_id=project.pk)
        .order_by("-received_at")
        .values_list("id", flat=True)[limit : limit + 1]
    )
    if not list(beyond):
        return 0
    return Event.objects.filter(project_id=project.pk).count() - limit


def _remove_attachments(project_id: int, cutoff: dt.datetime) -> int:
    old = list(
        Attachment.objects.filter(
            project_id=project_id, created_at__lt=cutoff
        ).values_list("id", "path")
    )
    store = blob_store()
    for _, path in old:
        # A blob already gone is fine: the row goes anyway.
        store.delete(path)
    Attachment.objects.filter(pk__in=[pk for pk, _ in old]).delete()
    return len(old)


def enforce_project_retention(project: Project, now: dt.datetime) -> RetentionResult:
    """Apply one project's age and count limits (steps 2 and 3 above)."""
    result = RetentionResult()
    cutoff = project_cutoff(project, now)
    result.events_deleted += _delete_events(
        project.pk, Event.objects.filter(project_id=project.pk, received_at__lt=cutoff)
    )
    excess = _over_count(project)
    if excess > 0:
        result.events_deleted += _delete_events(
            project.pk, Event.objects.filter(project_id=project.pk), limit=excess
        )
    EventKey.objects.filter(project_id=project.pk, received_at__lt=cutoff).delete()
    ProcessingError.objects.filter(
        project_id=project.pk, created_at__lt=cutoff
    ).delete()
    HourlyCount.objects.filter(issue__project_id=project.pk, hour__lt=cutoff).delete()
    result.attachments_deleted += _remove_attachments(project.pk, cutoff)
    return result


def enforce_retention(now: dt.datetime) -> RetentionResult:
    """Apply every project's retention limits; return what was removed."""
    result = RetentionResult()
    projects = list(Project.objects.all())
    if partitions.is_partitioned():
        # Partitions hold every project's events: only days that every
        # project's retention has passed can go whole.
        oldest = min(
            (project_cutoff(p, now) for p in projects),
            default=now - dt.timedelta(days=DEFAULT_RETENTION_DAYS),
        )
        dropped = partitions.drop_partitions_before(oldest.date())
        result.partitions_dropped = len(dropped)
    for project in projects:
        part = enforce_project_retention(project, now)
        result.events_deleted += part.events_deleted
        result.attachments_deleted += part.attachments_deleted
    if result.events_deleted or result.partitions_dropped:
        logger.info("retention: %s", result)
    return result


def prepare_partitions(now: dt.datetime) -> list[dt.date]:
    """Create the event partitions for today and the next few days."""
    return partitions.ensure_partitions_ahead(now.date())
