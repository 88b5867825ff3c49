"""What arrived for a project: item counts by type and outcome, release
health sessions, and processing errors, read for the project's stats page.

Ingest counts every item it queued as *accepted*; digest later counts the
events its inbound filters dropped as *filtered*, and records the ones it
could not store as processing errors. So of the accepted error events,
``accepted - filtered - processing errors`` were stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum

from fixtrail.events.models import ItemCount, Outcome, ProcessingError, SessionCount
from fixtrail.projects.models import Project

# The page lists this many recent processing errors; older ones stay in the
# table until retention removes the project's old rows.
RECENT_ERRORS_SHOWN = 50
OUTCOME_ORDER = [outcome.value for outcome in Outcome]


@dataclass(frozen=True)
class OutcomeRow:
    item_type: str
    cells: list[int]  # counts in OUTCOME_ORDER

    @property
    def total(self) -> int:
        return sum(self.cells)


def outcome_table(project: Project, since: dt.datetime) -> list[OutcomeRow]:
    """Return one row per item type with its counts per outcome since
    ``since``, most frequent type first (one query)."""
    rows: dict[str, dict[str, int]] = {}
    sums = (
        ItemCount.objects.filter(project=project, hour__gte=since)
        .values("item_type", "outcome")
        .annotate(total=Sum("count"))
    )
    for row in sums:
        rows.setdefault(row["item_type"], {})[row["outcome"]] = row["total"]
    table = [
        OutcomeRow(item_type, [counts.get(outcome, 0) for outcome in OUTCOME_ORDER])
        for item_type, counts in rows.items()
    ]
    return sorted(table, key=lambda row: (-row.total, row.item_type))


def filter_reasons(project: Project, since: dt.datetime) -> list[tuple[str, str, int]]:
    """Return (outcome, reason, count) for filtered, rate-limited and
    discarded items since ``since``, largest first (one query)."""
    sums = (
        ItemCount.objects.filter(project=project, hour__gte=since)
        .exclude(reason="")
        .values("outcome", "reason")
        .annotate(total=Sum("count"))
        .order_by("-total", "outcome", "reason")
    )
    return [(row["outcome"], row["reason"], row["total"]) for row in sums]


def session_table(project: Project, since: dt.date) -> list[tuple[str, dict[str, int]]]:
    """Return (release, {status: count}) for sessions since ``since``,
    newest release name last (one query)."""
    releases: dict[str, dict[str, int]] = {}
    sums = (
        SessionCount.objects.filter(project=project, day__gte=since)
        .values("release", "status")
        .annotate(total=Sum("count"))
        .order_by("release")
    )
    for row in sums:
        releases.setdefault(row["release"], {})[row["status"]] = row["total"]
    return list(releases.items())


def recent_processing_errors(project: Project) -> list[ProcessingError]:
    """Return the project's latest processing errors (one query)."""
    return list(
        ProcessingError.objects.filter(project=project).order_by("-created_at", "-pk")[
            :RECENT_ERRORS_SHOWN
        ]
    )
