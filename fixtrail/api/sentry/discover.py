"""Discover for error events: ``/organizations/{org}/events/``, and the
query building that events-stats shares.

A request chooses events (``project``, ``environment``, ``start``/``end``
or ``statsPeriod``, ``query``) and columns (``field``); with functions
among the fields each row is a group of events (fixtrail.api.sentry.fields).
The answer is Sentry's::

    {"data": [{"title": "ValueError: bad", "count()": 3}],
     "meta": {"fields": {"title": "string", "count()": "integer"}, ...}}

paged by ``per_page`` and ``cursor`` with the ``Link`` header.

Reads the Event table over the time range (see matching_events);
bench/dashboards.py measures it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Expression,
    F,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import StrIndex, Substr
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from fixtrail.accounts.models import Membership
from fixtrail.api.access import membership_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import paginate, parse_per_page
from fixtrail.api.selection import MAX_PARAM_VALUES, datetime_param, int_values
from fixtrail.api.sentry.discover_query import EventQuery, QueryError, translate
from fixtrail.api.sentry.fields import Field, FieldError, parse_fields, parse_sort
from fixtrail.api.sentry.intervals import IntervalError, resolve_range
from fixtrail.api.serializers import iso
from fixtrail.digest.normalize.limits import MAX_TIMESTAMP_PAST_SECONDS
from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.issues.search import filter_issues, parse_query
from fixtrail.projects.models import Project

router = Router(tags=["discover"])

TIMESTAMP_PAST = dt.timedelta(seconds=MAX_TIMESTAMP_PAST_SECONDS)

# Sentry's Discover answers at most this many rows a page.
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50


class EpochSeconds(Func):
    """Whole seconds since the Unix epoch of a timestamp column."""

    output_field = BigIntegerField()
    # SQLite keeps timestamps as UTC text, which strftime reads. The
    # percent sign is doubled twice: once for this template, once for the
    # driver's parameter style.
    template = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"

    def as_postgresql(
        self, compiler: object, connection: object, **extra: object
    ) -> tuple[str, list]:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s)) AS BIGINT)",
            **extra,
        )


def _user_display() -> Expression:
    # The stored key is "id:42" / "email:a@b.c": the part after the colon.
    return Substr("user_identity", StrIndex("user_identity", Value(":")) + 1)


def _event_type() -> Expression:
    return Case(When(issue__type="", then=Value("default")), default=Value("error"))


# Source (fixtrail.api.sentry.fields) -> how an Event row yields it.
EVENT_SOURCES: dict[str, Any] = {
    "event_id": lambda: F("event_id"),
    "title": lambda: F("title"),
    "issue": lambda: F("issue_id"),
    "project": lambda: F("project_id"),
    "project_id": lambda: F("project_id"),
    "release": lambda: F("release"),
    "environment": lambda: F("environment"),
    "level": lambda: F("level"),
    "user": lambda: F("user_identity"),
    "user_display": _user_display,
    "timestamp": lambda: F("timestamp"),
    "culprit": lambda: F("issue__culprit"),
    "platform": lambda: F("issue__platform"),
    "event_type": _event_type,
}
# Sources whose empty value means "none" and is not counted as a value.
_EMPTY_MEANS_NONE = {"user", "user_display", "release", "environment"}


@dataclass
class Scope:
    """What a request selects events by, before its query terms."""

    membership: Membership
    project_ids: list[int]
    environments: list[str]
    start: dt.datetime
    end: dt.datetime
    query: EventQuery


def request_scope(request: HttpRequest, org_slug: str, now: dt.datetime) -> Scope:
    """Return the events a Discover or stats request is about.

    Raises Http404 for outsiders, BadRequest for bad parameters.
    """
    membership = membership_for(request.user, org_slug)
    params = request.GET.copy()
    # Sentry's clients send project=-1 to mean "all projects".
    params.setlist("project", [p for p in params.getlist("project") if p != "-1"])
    projects = Project.objects.filter(organization=membership.organization)
    wanted = int_values(params, "project")
    if wanted:
        projects = projects.filter(pk__in=wanted)
    environments = params.getlist("environment")
    if len(environments) > MAX_PARAM_VALUES:
        raise BadRequest(f"Too many environment values: at most {MAX_PARAM_VALUES}.")
    try:
        start, end = resolve_range(
            datetime_param(params, "start"),
            datetime_param(params, "end"),
            params.get("statsPeriod", ""),
            now,
        )
        query = translate(parse_query(params.get("query", "")))
    except (IntervalError, QueryError) as error:
        raise BadRequest(str(error)) from None
    return Scope(
        membership,
        list(projects.values_list("pk", flat=True)),
        environments,
        start,
        end,
        query,
    )


def matching_issues(scope: Scope, user: Any, now: dt.datetime) -> QuerySet[Issue]:
    """Return the issues whose events the scope's issue terms allow."""
    issues = Issue.objects.filter(project_id__in=scope.project_ids)
    issues = filter_issues(issues, scope.query.issue_terms, user=user, now=now)
    return issues.filter(scope.query.issue_filter)


def matching_events(scope: Scope, user: Any, now: dt.datetime) -> QuerySet[Event]:
    """Return the scope's events (not yet grouped or ordered)."""
    events = Event.objects.filter(
        project_id__in=scope.project_ids,
        timestamp__gte=scope.start,
        timestamp__lt=scope.end,
    )
    if connection.vendor == "postgresql":
        # Digest stores every timestamp within [received - 30 days,
        # received] (fixtrail.digest.normalize and batches), so these
        # bounds on received_at follow from the ones on the timestamp and
        # leave out the day partitions outside them. SQLite has no
        # partitions, and the bound would steer its planner to the
        # (project, received_at) index, slower here than the (issue,
        # timestamp) one (bench/dashboards.py).
        events = events.filter(
            received_at__gte=scope.start,
            received_at__lt=scope.end + TIMESTAMP_PAST,
        )
    if scope.environments:
        events = events.filter(environment__in=scope.environments)
    if scope.query.on_issues:
        events = events.filter(
            issue_id__in=matching_issues(scope, user, now).values("pk")
        )
    return events.filter(scope.query.event_filter)


def aggregate_expression(field: Field) -> Any:
    """Return the SQL aggregate of a function field over Event rows.

    epm() and eps() are counted here and divided by the range afterwards.
    """
    if field.function in ("count", "epm", "eps"):
        return Count("pk")
    if field.function == "last_seen":
        return Max("timestamp")
    if field.function == "first_seen":
        return Min("timestamp")
    assert field.function == "count_unique"  # parse_field makes no other
    expression = EVENT_SOURCES[field.argument]()
    if field.argument in _EMPTY_MEANS_NONE:
        # Count() skips NULLs only; an empty string is "no value" here.
        return Count(
            Case(When(~Q(**{_column(field.argument): ""}), then=expression)),
            distinct=True,
        )
    return Count(expression, distinct=True)


def _column(source: str) -> str:
    return {"user": "user_identity", "user_display": "user_identity"}.get(
        source, source
    )


@dataclass
class Display:
    """Names for the ids rows are grouped by: issue short ids, slugs."""

    short_ids: dict[int, str]
    slugs: dict[int, str]

    @classmethod
    def load(cls, rows: list[dict], fields: list[Field], aliases: list[str]) -> Display:
        """Load the names the rows need (one query per kind, if any)."""
        issue_ids: set[int] = set()
        project_ids: set[int] = set()
        for field, alias in zip(fields, aliases, strict=True):
            if field.is_function:
                continue
            if field.source == "issue" and field.type == "string":
                issue_ids |= {row[alias] for row in rows}
            if field.source == "project":
                project_ids |= {row[alias] for row in rows}
        short_ids = {}
        if issue_ids:
            for issue in Issue.objects.filter(pk__in=issue_ids).select_related(
                "project"
            ):
                short_ids[issue.pk] = issue.short_id_display
        slugs = {}
        if project_ids:
            slugs = dict(
                Project.objects.filter(pk__in=project_ids).values_list("pk", "slug")
            )
        return cls(short_ids, slugs)

    def value(self, field: Field, raw: Any, minutes: float) -> Any:
        """Return one cell as Discover shows it."""
        if field.is_function:
            if field.function == "epm":
                return round(raw / minutes, 6) if minutes else 0
            if field.function == "eps":
                return round(raw / minutes / 60, 6) if minutes else 0
            if field.type == "date":
                return iso(raw)
            return raw or 0
        if field.source == "issue" and field.type == "string":
            return self.short_ids.get(raw, "")
        if field.source == "project":
            return self.slugs.get(raw, "")
        if field.type == "date":
            return iso(raw)
        return raw if raw is not None else ""


def meta(fields: list[Field]) -> dict:
    """Return the ``meta`` object Sentry sends beside Discover rows."""
    units = {"epm": "1/minute", "eps": "1/second"}
    return {
        "fields": {field.name: field.type for field in fields},
        "units": {
            field.name: units.get(getattr(field, "function", "")) for field in fields
        },
        "isMetricsData": False,
        "isMetricsExtractedData": False,
        "tips": {},
        "datasetReason": "unchanged",
        "dataset": "discover",
    }


def table_rows(
    events: QuerySet[Event], fields: list[Field], sort: tuple[Field, bool] | None
) -> tuple[QuerySet | list, list[str]]:
    """Return the rows (values dicts, unsliced) and each field's alias."""
    aliases = [f"f{i}" for i in range(len(fields))]
    columns = {
        alias: EVENT_SOURCES[field.source]()
        for field, alias in zip(fields, aliases, strict=True)
        if not field.is_function
    }
    functions = {
        alias: aggregate_expression(field)
        for field, alias in zip(fields, aliases, strict=True)
        if field.is_function
    }
    order = []
    if sort is not None:
        alias = aliases[fields.index(sort[0])]
        order.append(f"-{alias}" if sort[1] else alias)
    if not functions:
        rows = events.annotate(**columns).values(*columns)
        return rows.order_by(*order, "-timestamp", "-pk"), aliases
    if not columns:
        return [events.aggregate(**functions)], aliases
    rows = events.annotate(**columns).values(*columns).annotate(**functions)
    if not order:
        order.append(f"-{next(iter(functions))}")
    return rows.order_by(*order, *columns), aliases


def present(
    rows: list[dict],
    fields: list[Field],
    aliases: list[str],
    minutes: float,
) -> list[dict]:
    """Return rows keyed by field name, ids shown as names."""
    display = Display.load(rows, fields, aliases)
    return [
        {
            field.name: display.value(field, row[alias], minutes)
            for field, alias in zip(fields, aliases, strict=True)
        }
        for row in rows
    ]


@router.get("/organizations/{org_slug}/events/", auth=scoped("event:read"))
def events_table(request: HttpRequest, response: HttpResponse, org_slug: str) -> dict:
    """Answer a Discover table query over the organization's error events:
    ``field`` (repeated), ``query``, ``sort``, ``per_page``, ``cursor``,
    ``project``, ``environment``, ``start``/``end`` or ``statsPeriod``."""
    now = timezone.now()
    scope = request_scope(request, org_slug, now)
    try:
        fields = parse_fields(request.GET.getlist("field"))
        sort = parse_sort(request.GET.get("sort", ""), fields)
    except FieldError as error:
        raise BadRequest(str(error)) from None
    per_page = parse_per_page(request.GET.get("per_page"), DEFAULT_PER_PAGE)
    events = matching_events(scope, request.user, now)
    rows, aliases = table_rows(events, fields, sort)
    page = paginate(request, rows, min(per_page, MAX_PER_PAGE))
    response["Link"] = page.link
    minutes = (scope.end - scope.start).total_seconds() / 60
    return {"data": present(page.rows, fields, aliases, minutes), "meta": meta(fields)}
