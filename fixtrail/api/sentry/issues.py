"""One issue: details, changes, deletion, events, tags and ticket links;
and the list, bulk-change and event helpers the project and organization
endpoints share.

Every path exists twice, as Sentry has it: ``/issues/{id}/...`` and
``/organizations/{org}/issues/{id}/...`` (where ``{id}`` may also be a
short id such as ``BACKEND-1A``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from fixtrail.accounts.models import Membership, Role
from fixtrail.api.access import issue_for, parse_event_id
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import page_rows
from fixtrail.api.selection import bulk_selection, filtered_issues, sorted_issues
from fixtrail.api.serializers import (
    LIST_STATS_PERIODS,
    event_payload,
    event_summary_payload,
    issue_detail_payload,
    issue_payloads,
    tag_key_payloads,
    tag_value_payload,
)
from fixtrail.api.updates import apply_update, check_body, check_role
from fixtrail.events.models import Event
from fixtrail.events.storage import CorruptEventData
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues import actions, overview, similar
from fixtrail.issues.models import Issue, TagValue
from fixtrail.usage.features import count_use

logger = logging.getLogger(__name__)

router = Router(tags=["issues"])

# Update bodies are a few small fields; anything bigger is not one.
MAX_BODY_BYTES = 64 * 1024
MAX_TAG_KEY_LENGTH = 32  # TagValue.key
# GitLab issue iids are numbers; URLs are bounded by the model field.
_IID = re.compile(r"[0-9]{1,20}")
MAX_LINK_URL_LENGTH = 500


# Shared by the project and organization endpoints -----------------------


def stats_period(request: HttpRequest) -> str | None:
    """Return the ``statsPeriod`` asked for ("24h" by default; "" for none)."""
    period = request.GET.get("statsPeriod", "24h")
    if period == "":
        return None
    if period not in LIST_STATS_PERIODS:
        raise BadRequest("Invalid stats_period. Valid choices are '', '24h', and '14d'")
    return period


def issue_list(
    request: HttpRequest, response: HttpResponse, qs: QuerySet[Issue]
) -> list[dict]:
    """Answer an issue list request over ``qs`` (one page, Link header)."""
    now = timezone.now()
    period = stats_period(request)
    qs = sorted_issues(
        filtered_issues(qs, request.GET, user=request.user, now=now), request.GET
    )
    rows = page_rows(request, response, qs)
    return issue_payloads(rows, user=request.user, now=now, stats_period=period)


def read_json(request: HttpRequest) -> Any:
    """Return the request's JSON body; BadRequest when it is not JSON."""
    if len(request.body) > MAX_BODY_BYTES:
        raise BadRequest("The body is too large.")
    try:
        return orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("The body is not valid JSON.") from None


def bulk_update(
    request: HttpRequest, qs: QuerySet[Issue], membership: Membership
) -> HttpResponse | dict:
    """Apply an update body to the selected issues; 204 when none match."""
    body = check_body(read_json(request))
    # Checked before selecting, so a viewer learns "forbidden" even when
    # nothing matches.
    check_role(body, membership)
    now = timezone.now()
    issues = bulk_selection(qs, request, user=request.user, now=now)
    if not issues:
        return HttpResponse(status=204)
    count_use("bulk_actions", membership.organization)
    return apply_update(issues, body, user=request.user, membership=membership, now=now)


def bulk_delete(request: HttpRequest, qs: QuerySet[Issue]) -> HttpResponse:
    """Delete the selected issues; 204 whether or not any matched.

    The caller has checked that the user is at least a member.
    """
    issues = bulk_selection(qs, request, user=request.user, now=timezone.now())
    if issues:
        actions.delete_issues(issues, user=request.user)
    return HttpResponse(status=204)


def event_data(event: Event) -> dict:
    """Return the stored event's data; an unreadable row shows as empty."""
    try:
        return event.get_data()
    except CorruptEventData:
        logger.exception("unreadable event data", extra={"event_pk": event.pk})
        return {}


def event_summaries(events: list[Event]) -> list[dict]:
    return [event_summary_payload(event, event_data(event)) for event in events]


def event_detail(event: Event) -> dict:
    """Return the full event with the ids of its issue's neighbours (two
    small queries on the (issue, timestamp) index)."""
    older, newer = overview.neighbours(event.issue, event)
    return event_payload(
        event, event_data(event), issue=event.issue, previous_id=older, next_id=newer
    )


# One issue ----------------------------------------------------------------


def _signed(view: Callable, with_org: bool) -> Callable:
    """Return ``view`` as ninja should see it for one of its two paths:
    with ``org_slug`` as a required path parameter, or without it."""

    @functools.wraps(view)
    def variant(request: HttpRequest, **kwargs: Any) -> Any:
        return view(request, **kwargs)

    signature = inspect.signature(view)
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.name == "org_slug":
            if not with_org:
                continue
            parameter = parameter.replace(
                default=inspect.Parameter.empty, annotation="str"
            )
        parameters.append(parameter)
    variant.__signature__ = signature.replace(parameters=parameters)
    return variant


def _both(method: str, suffix: str, scope: str, name: str) -> Callable:
    """Register a view under ``/issues/{id}/`` and under
    ``/organizations/{org}/issues/{id}/``."""

    def register(view: Callable) -> Callable:
        for path, func, operation_id in (
            ("/issues/{issue_id}/" + suffix, _signed(view, False), f"sentry_{name}"),
            (
                "/organizations/{org_slug}/issues/{issue_id}/" + suffix,
                _signed(view, True),
                f"sentry_org_{name}",
            ),
        ):
            router.add_api_operation(
                path, [method], func, auth=scoped(scope), operation_id=operation_id
            )
        return view

    return register


def _issue(
    request: HttpRequest,
    issue_id: str,
    org_slug: str | None,
    minimum: str = Role.VIEWER,
) -> tuple[Issue, Membership]:
    return issue_for(request.user, issue_id, minimum, org_slug=org_slug)


@_both("GET", "", "event:read", "issue_details")
def issue_details(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    """Return one issue with stats, releases, activity, tags and links."""
    issue, _ = _issue(request, issue_id, org_slug)
    return issue_detail_payload(issue, user=request.user, now=timezone.now())


@_both("PUT", "", "event:write", "issue_update")
def issue_update(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    """Change one issue; answer the issue as it is afterwards."""
    issue, membership = _issue(request, issue_id, org_slug)
    body = check_body(read_json(request))
    now = timezone.now()
    apply_update([issue], body, user=request.user, membership=membership, now=now)
    issue, _ = _issue(request, issue_id, org_slug)
    return issue_detail_payload(issue, user=request.user, now=now)


@_both("DELETE", "", "event:admin", "issue_delete")
def issue_delete(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> HttpResponse:
    """Delete one issue with its events; 202 as Sentry answers."""
    issue, _ = _issue(request, issue_id, org_slug, Role.MEMBER)
    actions.delete_issues([issue], user=request.user)
    return HttpResponse(status=202)


@_both("GET", "events/", "event:read", "issue_events")
def issue_events(
    request: HttpRequest,
    response: HttpResponse,
    issue_id: str,
    org_slug: str | None = None,
) -> list[dict]:
    """List an issue's events, newest first (``full=true`` for whole events)."""
    issue, _ = _issue(request, issue_id, org_slug)
    events = Event.objects.filter(issue=issue).order_by("-timestamp", "-pk")
    rows = page_rows(request, response, events)
    if request.GET.get("full") in ("1", "true"):
        return [event_payload(event, event_data(event), issue=issue) for event in rows]
    return event_summaries(rows)


def _edge_event(issue: Issue, newest: bool) -> dict:
    event = overview.latest_event(issue) if newest else overview.oldest_event(issue)
    if event is None:
        raise Http404("No events")
    return event_detail(event)


@_both("GET", "events/latest/", "event:read", "issue_latest_event")
def issue_latest_event(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    """Return the issue's most recent event (what GitLab shows)."""
    issue, _ = _issue(request, issue_id, org_slug)
    return _edge_event(issue, newest=True)


@_both("GET", "events/oldest/", "event:read", "issue_oldest_event")
def issue_oldest_event(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    issue, _ = _issue(request, issue_id, org_slug)
    return _edge_event(issue, newest=False)


@_both("GET", "events/recommended/", "event:read", "issue_recommended_event")
def issue_recommended_event(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    """Return the event Sentry's UI opens first; here, the latest."""
    issue, _ = _issue(request, issue_id, org_slug)
    return _edge_event(issue, newest=True)


@_both("GET", "events/{event_id}/", "event:read", "issue_event")
def issue_event(
    request: HttpRequest, issue_id: str, event_id: str, org_slug: str | None = None
) -> dict:
    issue, _ = _issue(request, issue_id, org_slug)
    event = overview.find_event(issue, parse_event_id(event_id))
    if event is None:
        raise Http404("No such event")
    return event_detail(event)


@_both("GET", "tags/", "event:read", "issue_tags")
def issue_tags(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> list[dict]:
    """List the issue's tag keys with totals and their top values."""
    issue, _ = _issue(request, issue_id, org_slug)
    return tag_key_payloads(issue, top_values=True)


def _tag_key(key: str) -> str:
    if not key or len(key) > MAX_TAG_KEY_LENGTH:
        raise Http404("No such tag")
    return key


@_both("GET", "tags/{key}/", "event:read", "issue_tag")
def issue_tag(
    request: HttpRequest, issue_id: str, key: str, org_slug: str | None = None
) -> dict:
    issue, _ = _issue(request, issue_id, org_slug)
    for payload in tag_key_payloads(issue, top_values=True):
        if payload["key"] == _tag_key(key):
            return payload
    raise Http404("No such tag")


@_both("GET", "tags/{key}/values/", "event:read", "issue_tag_values")
def issue_tag_values(
    request: HttpRequest,
    response: HttpResponse,
    issue_id: str,
    key: str,
    org_slug: str | None = None,
) -> list[dict]:
    """List one tag's values on the issue, most frequent first."""
    issue, _ = _issue(request, issue_id, org_slug)
    values = TagValue.objects.filter(issue=issue, key=_tag_key(key))
    if not values.exists():
        raise Http404("No such tag")
    rows = page_rows(request, response, values.order_by("-times_seen", "value", "pk"))
    return [tag_value_payload(tag) for tag in rows]


def _link_fields(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    iid = body.get("issue_id")
    if isinstance(iid, int) and not isinstance(iid, bool):
        iid = str(iid)
    if not isinstance(iid, str) or not _IID.fullmatch(iid):
        raise BadRequest("issue_id must be the GitLab issue's number.")
    url = body.get("url") or ""
    if not isinstance(url, str) or len(url) > MAX_LINK_URL_LENGTH:
        raise BadRequest("url must be a web address.")
    if url and not url.startswith(("http://", "https://")):
        raise BadRequest("url must be an http(s) address.")
    return iid, url


@_both("POST", "plugins/gitlab/link/", "event:write", "issue_gitlab_link")
def issue_gitlab_link(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> dict:
    """Record that GitLab issue ``issue_id`` tracks this issue.

    Body ``{"issue_id": 12}`` (what GitLab sends), optionally with ``url``.
    Linking the same ticket again updates its URL.
    """
    issue, _ = _issue(request, issue_id, org_slug, Role.MEMBER)
    iid, url = _link_fields(read_json(request))
    link, created = ExternalIssueLink.objects.get_or_create(
        issue=issue,
        provider=ExternalIssueLink.Provider.GITLAB,
        external_id=iid,
        defaults={"url": url, "created_by": request.user},
    )
    if not created and url and link.url != url:
        link.url = url
        link.save(update_fields=["url"])
    return {
        "message": "Successfully linked issue.",
        "id": link.external_id,
        "label": link.label,
        "link": link.url or None,
    }


@_both("GET", "similar/", "event:read", "issue_similar")
def issue_similar(
    request: HttpRequest, issue_id: str, org_slug: str | None = None
) -> list:
    """Return the project's issues most like this one, best first, as
    Sentry's similar-issues endpoint: ``[[issue, {feature: score}], ...]``
    (``limit``, 1 to 50, default 10)."""
    issue, _ = _issue(request, issue_id, org_slug)
    raw = request.GET.get("limit", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= similar.MAX_LIMIT:
        raise BadRequest(f"limit must be a number from 1 to {similar.MAX_LIMIT}.")
    found = similar.similar_issues(issue, limit=int(raw), min_score=0.0)
    payloads = issue_payloads(
        [s.issue for s in found], user=request.user, now=timezone.now()
    )
    return [[payload, s.scores] for payload, s in zip(payloads, found, strict=True)]
