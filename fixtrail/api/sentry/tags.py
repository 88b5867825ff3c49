"""An organization's tags: ``/organizations/{org}/tags/`` (keys with how
many events carried them) and ``/organizations/{org}/tags/{key}/values/``.

Read from the tag counts digest keeps per issue (TagValue), narrowed by
``project`` and by the time range (``start``/``end`` or ``statsPeriod``)
to the tags seen in it. Keys::

    [{"key": "browser", "name": "Browser", "totalValues": 12}]

Values, most frequent first, paged with the Link header::

    [{"key": "browser", "name": "Chrome", "value": "Chrome", "count": 9,
      "firstSeen": "2026-03-02T10:05:00.000000Z",
      "lastSeen": "2026-03-02T11:50:00.000000Z"}]
"""

from __future__ import annotations

from django.db.models import Max, Min, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from fixtrail.api.access import membership_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import page_rows
from fixtrail.api.selection import datetime_param, int_values
from fixtrail.api.sentry.intervals import IntervalError, resolve_range
from fixtrail.api.serializers import TAG_NAMES, iso
from fixtrail.issues.models import TagValue

router = Router(tags=["tags"])

# An organization lists at most this many tag keys; a flood of made-up
# keys must not make the answer unbounded.
MAX_TAG_KEYS = 1000
MAX_TAG_KEY_LENGTH = 32  # TagValue.key
MAX_VALUE_QUERY_LENGTH = 200  # TagValue.value


def _tags(request: HttpRequest, org_slug: str) -> QuerySet[TagValue]:
    """Return the organization's tag counts the request's scope selects."""
    membership = membership_for(request.user, org_slug)
    tags = TagValue.objects.filter(issue__project__organization=membership.organization)
    params = request.GET.copy()
    params.setlist("project", [p for p in params.getlist("project") if p != "-1"])
    if projects := int_values(params, "project"):
        tags = tags.filter(issue__project_id__in=projects)
    has_range = any(params.get(name) for name in ("start", "end", "statsPeriod"))
    if has_range:
        try:
            start, end = resolve_range(
                datetime_param(params, "start"),
                datetime_param(params, "end"),
                params.get("statsPeriod", ""),
                timezone.now(),
            )
        except IntervalError as error:
            raise BadRequest(str(error)) from None
        tags = tags.filter(last_seen__gte=start, first_seen__lte=end)
    return tags


@router.get("/organizations/{org_slug}/tags/", auth=scoped("event:read"))
def organization_tags(request: HttpRequest, org_slug: str) -> list[dict]:
    """List the tag keys of the organization's events, by key."""
    keys = (
        _tags(request, org_slug)
        .values("key")
        .annotate(total=Sum("times_seen"))
        .order_by("key")[:MAX_TAG_KEYS]
    )
    return [
        {
            "key": row["key"],
            "name": TAG_NAMES.get(row["key"], row["key"]),
            "totalValues": row["total"],
        }
        for row in keys
    ]


@router.get("/organizations/{org_slug}/tags/{key}/values/", auth=scoped("event:read"))
def organization_tag_values(
    request: HttpRequest, response: HttpResponse, org_slug: str, key: str
) -> list[dict]:
    """List one tag's values, most frequent first; ``query`` keeps the
    values that contain it."""
    if not key or len(key) > MAX_TAG_KEY_LENGTH:
        raise Http404("No such tag")
    tags = _tags(request, org_slug).filter(key=key)
    query = request.GET.get("query", "")
    if len(query) > MAX_VALUE_QUERY_LENGTH:
        raise BadRequest(f"The query is too long: at most {MAX_VALUE_QUERY_LENGTH}.")
    if query:
        tags = tags.filter(value__icontains=query)
    values = (
        tags.values("value")
        .annotate(
            count=Sum("times_seen"), first=Min("first_seen"), last=Max("last_seen")
        )
        .order_by("-count", "value")
    )
    return [
        {
            "key": key,
            "name": row["value"],
            "value": row["value"],
            "count": row["count"],
            "firstSeen": iso(row["first"]),
            "lastSeen": iso(row["last"]),
        }
        for row in page_rows(request, response, values)
    ]
