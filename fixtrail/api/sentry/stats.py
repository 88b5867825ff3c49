"""Time series: ``/organizations/{org}/events-stats/`` (error events per
interval, optionally per top group) and ``/organizations/{org}/stats_v2/``
(what ingest accepted, filtered, rate-limited or refused).

events-stats answers Sentry's shape. One ``yAxis`` and no grouping::

    {"data": [[1772445600, [{"count": 3}]], [1772449200, [{"count": 2}]]],
     "start": 1772445600, "end": 1772452800, "isMetricsData": false,
     "meta": {...}}

several ``yAxis`` put one such object per axis under its name, with an
``order``; ``topEvents=N`` with plain columns among the ``field``s puts
one per group under the group's values joined by ``,`` (``"backend,1.0"``),
an axis level between when there are several, and ``"Other"`` for the rest
unless ``excludeOther=1``.

Every bucket counts all its events, also the first and last when the
range starts or ends inside them. When the query needs nothing but issues
(``count()`` only, whole-hour intervals, no ``environment``, no event-row
term, grouping by issue or project at most) the series are summed from the
hourly counts digest keeps per issue instead of from the events.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from typing import Any

from django.db.models import F, Q, QuerySet, Sum, Value
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from fixtrail.api.access import membership_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.selection import datetime_param, int_values
from fixtrail.api.sentry.discover import (
    EVENT_SOURCES,
    Display,
    EpochSeconds,
    Scope,
    aggregate_expression,
    matching_events,
    matching_issues,
    request_scope,
)
from fixtrail.api.sentry.fields import (
    Field,
    FieldError,
    Function,
    parse_fields,
    parse_sort,
)
from fixtrail.api.sentry.intervals import (
    Buckets,
    IntervalError,
    epoch_seconds,
    from_epoch,
    make_buckets,
    parse_interval,
    resolve_range,
    whole_hours,
)
from fixtrail.events.models import ItemCount, Outcome
from fixtrail.issues.models import HourlyCount

router = Router(tags=["stats"])

# Sentry's own cap on topEvents.
MAX_TOP_EVENTS = 10
OTHER = "Other"
# Plain columns the hourly counts of issues can group by.
HOURLY_SOURCES = {
    "issue": lambda: F("issue_id"),
    "project": lambda: F("issue__project_id"),
    "project_id": lambda: F("issue__project_id"),
}
_TRUE = ("1", "true")


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "").lower() in _TRUE


def _top_events(text: str) -> int:
    if not text:
        return 0
    if not text.isdigit() or int(text) > MAX_TOP_EVENTS:
        raise BadRequest(
            f"topEvents must be a number from 0 to {MAX_TOP_EVENTS}, not {text}."
        )
    return int(text)


def _y_axes(texts: list[str]) -> list[Field]:
    axes = parse_fields(texts or ["count()"])
    for axis in axes:
        if not isinstance(axis, Function) or axis.function not in (
            "count",
            "count_unique",
        ):
            raise FieldError(
                f'yAxis "{axis.name}" is not supported: use count() or '
                f"count_unique(column)."
            )
    return axes


def _from_hours(scope: Scope, fields: list[Field], buckets: Buckets) -> bool:
    """Return True when the hourly counts of issues answer the request."""
    return (
        whole_hours(buckets.seconds)
        and not scope.environments
        and not scope.query.on_events
        and all(
            field.function == "count"
            if field.is_function
            else field.source in HOURLY_SOURCES
            for field in fields
        )
    )


class _Source:
    """Rows to count, from events or from hourly counts, in the buckets."""

    def __init__(
        self, scope: Scope, request: HttpRequest, buckets: Buckets, hourly: bool
    ) -> None:
        now = timezone.now()
        low, high = from_epoch(buckets.first), from_epoch(buckets.end)
        self.hourly = hourly
        self.buckets = buckets
        if hourly:
            rows = HourlyCount.objects.filter(
                issue__project_id__in=scope.project_ids, hour__gte=low, hour__lt=high
            )
            if scope.query.on_issues:
                rows = rows.filter(
                    issue_id__in=matching_issues(scope, request.user, now).values("pk")
                )
            self.rows: QuerySet = rows
            self.time = "hour"
        else:
            widened = Scope(**{**scope.__dict__, "start": low, "end": high})
            self.rows = matching_events(widened, request.user, now)
            self.time = "timestamp"

    def column(self, field: Field) -> Any:
        sources = HOURLY_SOURCES if self.hourly else EVENT_SOURCES
        return sources[field.source]()

    def aggregate(self, field: Field) -> Any:
        if self.hourly:
            return Sum("count")
        return aggregate_expression(field)

    def grouped(self, groups: list[Field]) -> QuerySet:
        return self.rows.annotate(
            **{f"g{i}": self.column(field) for i, field in enumerate(groups)}
        )

    def series(
        self, groups: list[Field], axes: list[Field], where: Q, exclude: bool
    ) -> dict[tuple, list[list[int]]]:
        """Return {group values: [per axis, per bucket counts]}."""
        rows = self.grouped(groups)
        if where:
            rows = rows.exclude(where) if exclude else rows.filter(where)
        names = [f"g{i}" for i in range(len(groups))]
        if self.hourly:
            # At most one row per hour and group: summed into buckets here,
            # which spares the database a date function on every row.
            rows = rows.values("hour", *names)
        else:
            bucket = (EpochSeconds(self.time) - Value(self.buckets.first)) / Value(
                self.buckets.seconds
            )
            rows = rows.annotate(b=bucket).values("b", *names)
        counted = rows.annotate(
            **{f"y{j}": self.aggregate(axis) for j, axis in enumerate(axes)}
        ).order_by()
        out: dict[tuple, list[list[int]]] = {}
        for row in counted:
            key = () if exclude else tuple(row[name] for name in names)
            cells = out.setdefault(
                key, [[0] * self.buckets.count for _ in range(len(axes))]
            )
            if self.hourly:
                index = self.buckets.index(epoch_seconds(row["hour"]))
            else:
                index = row["b"] if 0 <= row["b"] < self.buckets.count else None
            if index is not None:
                for j in range(len(axes)):
                    cells[j][index] += row[f"y{j}"] or 0
        return out


def _top_groups(
    source: _Source, fields: list[Field], groups: list[Field], sort: Any, limit: int
) -> list[tuple]:
    """Return the values of the ``limit`` first groups in ``sort`` order."""
    functions = [field for field in fields if field.is_function]
    names = [f"g{i}" for i in range(len(groups))]
    rows = (
        source.grouped(groups)
        .values(*names)
        .annotate(
            **{f"a{k}": source.aggregate(field) for k, field in enumerate(functions)}
        )
    )
    if sort is None:
        order = "-a0"
    else:
        field, descending = sort
        alias = (
            f"a{functions.index(field)}"
            if field.is_function
            else names[groups.index(field)]
        )
        order = f"-{alias}" if descending else alias
    rows = rows.order_by(order, *names)[:limit]
    return [tuple(row[name] for name in names) for row in rows]


def _series_object(
    buckets: Buckets, axis: Field, counts: list[int], order: int | None
) -> dict:
    data = [
        [start, [{"count": count}]]
        for start, count in zip(buckets.starts(), counts, strict=True)
    ]
    out: dict[str, Any] = {
        "data": data,
        "start": buckets.first,
        "end": buckets.end,
        "isMetricsData": False,
        "meta": {
            "fields": {"time": "date", axis.name: axis.type},
            "units": {"time": None, axis.name: None},
            "isMetricsData": False,
            "dataset": "discover",
        },
    }
    if order is not None:
        out["order"] = order
    return out


def _axes_object(
    buckets: Buckets, axes: list[Field], cells: list[list[int]], order: int | None
) -> dict:
    """Return one group's series: the object itself for one axis, else one
    object per axis name."""
    if len(axes) == 1:
        return _series_object(buckets, axes[0], cells[0], order)
    out: dict[str, Any] = {
        axis.name: _series_object(buckets, axis, cells[j], j)
        for j, axis in enumerate(axes)
    }
    if order is not None:
        out["order"] = order
    return out


def _labels(keys: list[tuple], groups: list[Field]) -> list[str]:
    aliases = [f"g{i}" for i in range(len(groups))]
    rows = [dict(zip(aliases, key, strict=True)) for key in keys]
    display = Display.load(rows, groups, aliases)
    return [
        ",".join(
            str(display.value(field, row[alias], 0))
            for field, alias in zip(groups, aliases, strict=True)
        )
        for row in rows
    ]


@router.get("/organizations/{org_slug}/events-stats/", auth=scoped("event:read"))
def events_stats(request: HttpRequest, org_slug: str) -> dict:
    """Answer error events per interval: ``yAxis`` (count(),
    count_unique(column)), ``interval``, ``topEvents`` with ``field``
    grouping and ``sort``, ``partial``, ``excludeOther``, and the scope
    parameters of Discover."""
    scope = request_scope(request, org_slug, timezone.now())
    params = request.GET
    try:
        axes = _y_axes(params.getlist("yAxis"))
        fields = parse_fields(params.getlist("field") or [a.name for a in axes])
        sort = parse_sort(params.get("sort", ""), fields)
        buckets = make_buckets(
            scope.start,
            scope.end,
            parse_interval(params.get("interval") or "1h"),
            partial=_flag(request, "partial"),
        )
    except (FieldError, IntervalError) as error:
        raise BadRequest(str(error)) from None
    top = _top_events(params.get("topEvents", ""))
    groups = [field for field in fields if not field.is_function] if top else []
    used = [*axes, *fields] if groups else axes
    source = _Source(scope, request, buckets, _from_hours(scope, used, buckets))
    keys = _top_groups(source, fields, groups, sort, top) if groups else []
    if not keys:
        cells = source.series([], axes, Q(), False).get(())
        cells = cells or [[0] * buckets.count for _ in axes]
        if len(axes) == 1:
            return _series_object(buckets, axes[0], cells[0], None)
        return _axes_object(buckets, axes, cells, None)
    where = functools.reduce(
        operator.or_,
        [Q(**{f"g{i}": value for i, value in enumerate(key)}) for key in keys],
    )
    counted = source.series(groups, axes, where, False)
    out: dict[str, Any] = {}
    for order, (key, label) in enumerate(zip(keys, _labels(keys, groups), strict=True)):
        cells = counted.get(key) or [[0] * buckets.count for _ in axes]
        out[label] = _axes_object(buckets, axes, cells, order)
    if not _flag(request, "excludeOther"):
        rest = source.series(groups, axes, where, True).get(())
        rest = rest or [[0] * buckets.count for _ in axes]
        out[OTHER] = _axes_object(buckets, axes, rest, len(keys))
    return out


# stats_v2 ------------------------------------------------------------------

STATS_FIELDS = ("sum(quantity)", "sum(times_seen)")
STATS_GROUPS = ("category", "outcome", "reason", "project")
# Sentry's outcome names; "too_large" is Sentry's "invalid" outcome with
# the reason "too_large".
SENTRY_OUTCOMES = {
    Outcome.ACCEPTED: "accepted",
    Outcome.FILTERED: "filtered",
    Outcome.RATE_LIMITED: "rate_limited",
    Outcome.CLIENT_DISCARD: "client_discard",
    Outcome.INVALID: "invalid",
    Outcome.TOO_LARGE: "invalid",
}
KNOWN_OUTCOMES = ("accepted", "filtered", "rate_limited", "client_discard", "invalid")
# Sentry has these too; nothing here produces them, so they select nothing.
EMPTY_OUTCOMES = ("abuse", "cardinality_limited", "dropped")


def _stats_choice(request: HttpRequest, name: str, allowed: tuple[str, ...]) -> list:
    values = [value for value in request.GET.getlist(name) if value]
    for value in values:
        if value not in allowed:
            raise BadRequest(
                f'Invalid {name} "{value}": use one of {", ".join(allowed)}.'
            )
    return values


def _outcome_of(row: dict) -> tuple[str, str]:
    outcome = SENTRY_OUTCOMES.get(row["outcome"], row["outcome"])
    reason = row["reason"]
    if row["outcome"] == Outcome.TOO_LARGE and not reason:
        reason = "too_large"
    return outcome, reason


@router.get("/organizations/{org_slug}/stats_v2/", auth=scoped("org:read"))
def stats_v2(request: HttpRequest, org_slug: str) -> dict:
    """Answer the organization's item counts per interval, by category,
    outcome, reason and project: what ingest and digest counted.

    Both fields count items: ``sum(quantity)`` is not bytes for
    attachments, and ``sum(times_seen)`` equals it.
    """
    membership = membership_for(request.user, org_slug)
    fields = _stats_choice(request, "field", STATS_FIELDS)
    if not fields:
        raise BadRequest('At least one "field" is required: sum(quantity).')
    group_by = _stats_choice(request, "groupBy", STATS_GROUPS)
    outcomes = _stats_choice(request, "outcome", (*KNOWN_OUTCOMES, *EMPTY_OUTCOMES))
    try:
        start, end = resolve_range(
            datetime_param(request.GET, "start"),
            datetime_param(request.GET, "end"),
            request.GET.get("statsPeriod", ""),
            timezone.now(),
        )
        seconds = parse_interval(request.GET.get("interval") or "1h", units="mhdw")
        if not whole_hours(seconds):
            raise IntervalError(
                "The interval has to be a multiple of the minimum interval of "
                "one hour: counts are kept per hour."
            )
        buckets = make_buckets(start, end, seconds, partial=True)
    except IntervalError as error:
        raise BadRequest(str(error)) from None
    rows = ItemCount.objects.filter(
        project__organization=membership.organization,
        hour__gte=from_epoch(buckets.first),
        hour__lt=from_epoch(buckets.end),
    )
    params = request.GET.copy()
    params.setlist("project", [p for p in params.getlist("project") if p != "-1"])
    if projects := int_values(params, "project"):
        rows = rows.filter(project_id__in=projects)
    if categories := [c for c in request.GET.getlist("category") if c]:
        rows = rows.filter(item_type__in=categories)
    reasons = [reason for reason in request.GET.getlist("reason") if reason]
    series = _stats_series(rows, buckets, group_by, outcomes, reasons)
    return _stats_payload(series, buckets, fields, group_by)


def _stats_series(
    rows: QuerySet,
    buckets: Buckets,
    group_by: list[str],
    outcomes: list[str],
    reasons: list[str],
) -> dict[tuple, list[int]]:
    """Sum the hourly item counts into buckets per group (one query).

    Outcomes and reasons are compared in Sentry's names, after mapping.
    """
    out: dict[tuple, list[int]] = defaultdict(lambda: [0] * buckets.count)
    if not group_by:
        # Without groups there is one series, zeros when nothing arrived.
        out[()] = [0] * buckets.count
    sums = rows.values("hour", "item_type", "outcome", "reason", "project_id")
    for row in sums.annotate(total=Sum("count")).order_by():
        outcome, reason = _outcome_of(row)
        if (outcomes and outcome not in outcomes) or (
            reasons and reason not in reasons
        ):
            continue
        index = buckets.index(epoch_seconds(row["hour"]))
        if index is None:
            continue
        by = {
            "category": row["item_type"],
            "outcome": outcome,
            "reason": reason,
            "project": row["project_id"],
        }
        out[tuple(by[name] for name in group_by)][index] += row["total"]
    return out


def _stats_time(seconds: int) -> str:
    return from_epoch(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stats_payload(
    series: dict[tuple, list[int]],
    buckets: Buckets,
    fields: list[str],
    group_by: list[str],
) -> dict:
    groups = []
    for key in sorted(series, key=lambda k: tuple(str(part) for part in k)):
        counts = series[key]
        groups.append(
            {
                "by": dict(zip(group_by, key, strict=True)),
                "totals": {field: sum(counts) for field in fields},
                "series": {field: counts for field in fields},
            }
        )
    return {
        "start": _stats_time(buckets.first),
        "end": _stats_time(buckets.end),
        "intervals": [_stats_time(start) for start in buckets.starts()],
        "groups": groups,
    }
