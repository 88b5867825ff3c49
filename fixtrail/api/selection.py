"""Which issues a request is about: list filters and bulk selections.

Lists take the UI's search syntax in ``query`` (fixtrail.issues.search), a
``sort``, and Sentry's extra filters: ``environment`` (repeatable),
``project`` (ids, repeatable, organization lists only), ``start``/``end``
(ISO 8601; issues seen within the range).

Bulk ``PUT``/``DELETE`` pick issues as Sentry does: ``?id=1&id=2`` names
them, else ``?status=`` (what ``sentry-cli issues ... -s`` sends) or
``?query=`` selects them, capped at BULK_MUTATION_LIMIT issues.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.dateparse import parse_datetime

from fixtrail.accounts.models import User
from fixtrail.api.errors import BadRequest
from fixtrail.issues.models import Issue
from fixtrail.issues.search import Term, filter_issues, parse_query, sort_issues

DEFAULT_QUERY = "is:unresolved"
DEFAULT_SORT = "date"

# One bulk request changes at most this many issues, Sentry's own cap; a
# client with more pages through them.
BULK_MUTATION_LIMIT = 1000

# Repeatable parameters (id, project, environment) take at most this many
# values, so one URL cannot build an unbounded IN (...).
MAX_PARAM_VALUES = 100

# sentry-cli's status names (-s resolved|muted|unresolved) and Fixtrail's.
STATUS_FILTERS = {
    "resolved": "resolved",
    "unresolved": "unresolved",
    "ignored": "ignored",
    "muted": "ignored",
}


def issue_base(**filters: object) -> QuerySet[Issue]:
    """Return issues with what serialization reads already joined."""
    return Issue.objects.filter(**filters).select_related(
        "project__organization", "assignee", "assignee_team"
    )


def int_values(params: QueryDict, name: str) -> list[int]:
    """Return the repeated integer parameter ``name``; 400 on junk."""
    values = params.getlist(name)
    if len(values) > MAX_PARAM_VALUES:
        raise BadRequest(f"Too many {name} values: at most {MAX_PARAM_VALUES}.")
    try:
        numbers = [int(value) for value in values]
    except ValueError:
        raise BadRequest(f"Invalid {name} parameter: ids are numbers.") from None
    # Database ids are 64-bit; anything longer than 18 digits is not one.
    if any(number < 1 or number >= 10**18 for number in numbers):
        raise BadRequest(f"Invalid {name} parameter: ids are numbers.")
    return numbers


def datetime_param(params: QueryDict, name: str) -> dt.datetime | None:
    """Return an ISO 8601 parameter as an aware datetime (UTC if naive)."""
    text = params.get(name, "")
    if not text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest(
            f"Invalid {name} parameter: use ISO 8601, e.g. 2024-05-01T00:00:00Z."
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def filtered_issues(
    qs: QuerySet[Issue], params: QueryDict, *, user: User, now: dt.datetime
) -> QuerySet[Issue]:
    """Return ``qs`` narrowed by the request's query, environment and range.

    Raises BadRequest (and SearchError, a 400 too) for bad parameters.
    """
    query = params.get("query", DEFAULT_QUERY)
    terms = parse_query(query)
    environments = params.getlist("environment")
    if len(environments) > MAX_PARAM_VALUES:
        raise BadRequest(f"Too many environment values: at most {MAX_PARAM_VALUES}.")
    if environments:
        terms.append(Term("environment", tuple(environments)))
    qs = filter_issues(qs, terms, user=user, now=now)
    start, end = datetime_param(params, "start"), datetime_param(params, "end")
    if start and end and start > end:
        raise BadRequest("start must be before end.")
    if start:
        qs = qs.filter(last_seen__gte=start)
    if end:
        qs = qs.filter(first_seen__lte=end)
    return qs


def sorted_issues(qs: QuerySet[Issue], params: QueryDict) -> QuerySet[Issue]:
    """Return ``qs`` in the order of the ``sort`` parameter (default "date")."""
    return sort_issues(qs, params.get("sort") or DEFAULT_SORT)


def bulk_selection(
    qs: QuerySet[Issue], request: HttpRequest, *, user: User, now: dt.datetime
) -> list[Issue]:
    """Return the issues of ``qs`` a bulk PUT or DELETE applies to.

    Ids out of ``qs`` (another project, another organization) are silently
    left out, as Sentry does.
    """
    params = request.GET
    ids = int_values(params, "id")
    if ids:
        qs = qs.filter(pk__in=ids)
    else:
        status = params.get("status", "")
        if status:
            if status not in STATUS_FILTERS:
                raise BadRequest(
                    f"Invalid status parameter: use one of {', '.join(STATUS_FILTERS)}."
                )
            qs = qs.filter(status=STATUS_FILTERS[status])
        # Without a status the default query (unresolved issues) applies.
        if "query" in params or not status:
            qs = filtered_issues(qs, params, user=user, now=now)
    return list(qs.order_by("pk")[:BULK_MUTATION_LIMIT])
