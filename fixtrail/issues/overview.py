"""What the issue page shows besides the event: charts, tag distributions,
the events list and its neighbours, and the activity log.

Each function runs a fixed number of queries served by an index on the
issue, so the page costs the same for an issue with ten events or a
million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils.safestring import SafeString

from fixtrail.events.models import Event
from fixtrail.issues import charts, counts
from fixtrail.issues.models import Activity, Issue, Priority, TagValue
from fixtrail.issues.search import (
    Page,
    filter_events,
    keyset_filter,
    keyset_page,
    parse_query,
    quote_term,
)
from fixtrail.lib import timefmt

HOURLY_CHART_HOURS = 24
DAILY_CHART_DAYS = 30
# Values shown per tag key, and keys shown; the rest is summed as "other".
TOP_TAG_VALUES = 5
MAX_TAG_KEYS = 40
# Releases and environments listed with their first and last sighting.
MAX_SEEN_IN = 10
EVENTS_PAGE_SIZE = 25
MAX_ACTIVITY = 200
EVENT_ORDER = ("timestamp", "id")


@dataclass(frozen=True)
class TagShare:
    value: str
    count: int
    percent: int
    # The issue-list search for issues with this tag value.
    query: str


@dataclass(frozen=True)
class TagDistribution:
    key: str
    total: int
    values: list[TagShare]
    other: int
    other_percent: int


def histograms(issue: Issue, now: datetime) -> tuple[SafeString, SafeString]:
    """Return SVG charts of events per hour (last 24 h) and per day (30 d)."""
    hour_now = now.replace(minute=0, second=0, microsecond=0)
    hourly_start = hour_now - timedelta(hours=HOURLY_CHART_HOURS - 1)
    daily_start = hour_now.replace(hour=0) - timedelta(days=DAILY_CHART_DAYS - 1)
    hours = counts.hourly_totals([issue.pk], hourly_start)[issue.pk]
    days = counts.daily_totals([issue.pk], daily_start.date())[issue.pk]
    hourly = charts.bucket_counts(
        hours, hourly_start, timedelta(hours=1), HOURLY_CHART_HOURS
    )
    daily = charts.bucket_counts(days, daily_start, timedelta(days=1), DAILY_CHART_DAYS)
    hour_buckets = [
        charts.Bucket(
            start, count, start.strftime("%d %b %H:00 UTC"), start.strftime("%H:00")
        )
        for i, count in enumerate(hourly)
        for start in [hourly_start + timedelta(hours=i)]
    ]
    day_buckets = [
        charts.Bucket(start, count, start.strftime("%d %b"), start.strftime("%d %b"))
        for i, count in enumerate(daily)
        for start in [daily_start + timedelta(days=i)]
    ]
    return (
        charts.histogram(hour_buckets, "Events per hour, last 24 hours"),
        charts.histogram(day_buckets, "Events per day, last 30 days"),
    )


def tag_distributions(issue: Issue) -> list[TagDistribution]:
    """Return, per tag key, the top values with their share of the key's
    events, most common keys first.

    Two queries: the totals per key, and the top values of every key at
    once through a window function.
    """
    totals = dict(
        TagValue.objects.filter(issue=issue)
        .values("key")
        .annotate(total=Sum("times_seen"))
        .order_by("-total", "key")
        .values_list("key", "total")[:MAX_TAG_KEYS]
    )
    top = (
        TagValue.objects.filter(issue=issue, key__in=list(totals))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("key")],
                order_by=[F("times_seen").desc(), F("value").asc()],
            )
        )
        .filter(rank__lte=TOP_TAG_VALUES)
        .values_list("key", "value", "times_seen")
    )
    shares: dict[str, list[tuple[str, int]]] = {key: [] for key in totals}
    for key, value, count in top:
        shares[key].append((value, count))
    out = []
    for key, total in totals.items():
        values = sorted(shares[key], key=lambda pair: (-pair[1], pair[0]))
        other = total - sum(count for _, count in values)
        out.append(
            TagDistribution(
                key=key,
                total=total,
                values=[
                    TagShare(v, c, _percent(c, total), quote_term(key, v))
                    for v, c in values
                ],
                other=other,
                other_percent=_percent(other, total),
            )
        )
    return out


def _percent(part: int, total: int) -> int:
    return round(100 * part / total) if total else 0


def seen_in(issue: Issue, key: str) -> QuerySet[TagValue]:
    """The releases (or environments) the issue was seen in, latest first."""
    return TagValue.objects.filter(issue=issue, key=key).order_by("-last_seen")[
        :MAX_SEEN_IN
    ]


def latest_event(issue: Issue) -> Event | None:
    return Event.objects.filter(issue=issue).order_by("-timestamp", "-id").first()


def oldest_event(issue: Issue) -> Event | None:
    return Event.objects.filter(issue=issue).order_by("timestamp", "id").first()


def find_event(issue: Issue, event_id: str) -> Event | None:
    """Return the issue's event by id, or "latest"/"oldest"; None if absent."""
    if event_id == "latest":
        return latest_event(issue)
    if event_id == "oldest":
        return oldest_event(issue)
    return Event.objects.filter(
        project_id=issue.project_id, issue=issue, event_id=event_id.lower()
    ).first()


def neighbours(issue: Issue, event: Event) -> tuple[str | None, str | None]:
    """Return the ids of the next older and next newer events, or None."""
    events = Event.objects.filter(issue=issue)
    position = [event.timestamp, event.pk]
    older = (
        events.filter(keyset_filter(EVENT_ORDER, position, forward=False))
        .order_by("-timestamp", "-id")
        .values_list("event_id", flat=True)
        .first()
    )
    newer = (
        events.filter(keyset_filter(EVENT_ORDER, position, forward=True))
        .order_by("timestamp", "id")
        .values_list("event_id", flat=True)
        .first()
    )
    return older, newer


def event_page(issue: Issue, query: str, cursor: str | None) -> Page:
    """Return a page of the issue's events, newest first, matching ``query``.

    Raises SearchError for a query the event list cannot apply.
    """
    events = filter_events(Event.objects.filter(issue=issue), parse_query(query))
    events = events.only(
        "event_id",
        "timestamp",
        "title",
        "level",
        "release",
        "environment",
        "user_identity",
    )
    return keyset_page(events, EVENT_ORDER, False, cursor, EVENTS_PAGE_SIZE)


def activities(issue: Issue) -> list[Activity]:
    """The issue's activity, newest first."""
    return list(
        Activity.objects.filter(issue=issue)
        .select_related("user")
        .order_by("-created_at", "-id")[:MAX_ACTIVITY]
    )


def activity_detail(activity: Activity) -> str:
    """Return a short description of what an activity changed, from its data
    (written by fixtrail.issues.actions and digest)."""
    data = activity.data if isinstance(activity.data, dict) else {}
    kind = activity.kind
    if kind == Activity.Kind.RESOLVED:
        how = data.get("how")
        if how == "in_release":
            return f"in release {data.get('release', '')}"
        if how == "in_commit":
            return f"in commit {data.get('commit', '')}"
        if how == "next_release":
            return "in the next release"
        if data.get("ticket"):
            return f"because ticket {data['ticket']} was closed"
        return ""
    if kind == Activity.Kind.IGNORED:
        return _ignore_detail(data)
    if kind == Activity.Kind.ASSIGNED:
        target = (
            f"to #{data['team']}"
            if data.get("team")
            else f"to {data.get('assignee', '')}"
        )
        # Auto-assignment names the ownership rule that chose the owner.
        rule = data.get("rule")
        return f"{target} by {rule}" if isinstance(rule, str) and rule else target
    if kind == Activity.Kind.MERGED:
        merged = data.get("merged")
        return (
            "with " + ", ".join(str(m) for m in merged)
            if isinstance(merged, list)
            else ""
        )
    if kind == Activity.Kind.PRIORITY:
        return f"from {_priority(data.get('from'))} to {_priority(data.get('to'))}"
    if kind == Activity.Kind.REGRESSION and data.get("commit"):
        # A fix-by-commit regression (fixtrail.releases.fixes) names its fix.
        fix = data.get("merge_request") or str(data["commit"])[:12]
        return f"in release {data.get('release', '')}, despite the fix in {fix}"
    if kind in (Activity.Kind.REGRESSION, Activity.Kind.FIRST_SEEN) and data.get(
        "release"
    ):
        return f"in release {data['release']}"
    return ""


def _priority(value: object) -> str:
    return Priority(value).label if value in Priority.values else "?"


def _ignore_detail(data: dict) -> str:
    parts = []
    if data.get("until"):
        moment = timefmt.parse_timestamp(data["until"])
        parts.append(f"until {timefmt.exact(moment)}" if moment else "")
    if data.get("count"):
        window = data.get("window_minutes")
        parts.append(
            f"until {data['count']} more events"
            + (f" in {window} minutes" if window else "")
        )
    if data.get("user_count"):
        window = data.get("user_window_minutes")
        parts.append(
            f"until {data['user_count']} more users"
            + (f" in {window} minutes" if window else "")
        )
    return " or ".join(part for part in parts if part) or "forever"
