"""Issues in Fixtrail's own API: the lists (same query, sort, period and
cursors as the UI's), one issue, its events and tags, triage actions
(the issue page's form, so both take the same input and run the same
workflows), comments and saved searches."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from fixtrail.accounts.models import Membership, Organization, Role
from fixtrail.api.access import (
    issue_for,
    membership_for,
    parse_event_id,
    parse_id,
    project_for,
)
from fixtrail.api.auth import scope_granted, scoped
from fixtrail.api.errors import BadRequest, MissingScope
from fixtrail.api.v1 import schemas
from fixtrail.events.models import Event
from fixtrail.events.storage import CorruptEventData
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues import actions, listing, overview
from fixtrail.issues.forms import IssueActionForm, SavedSearchForm, selected_issues
from fixtrail.issues.models import Activity, Issue, SavedSearch, TagValue
from fixtrail.issues.search import page_issues
from fixtrail.projects.models import Project

router = Router(tags=["issues"])

# An issue's page lists this many tag keys and values per key, as the UI.
MAX_TAG_KEYS = 50
TOP_TAG_VALUES = 10


class ListParams(Schema):
    query: str = listing.DEFAULT_QUERY
    sort: str = listing.DEFAULT_SORT
    dir: str = "desc"
    period: str = listing.DEFAULT_PERIOD
    cursor: str = ""
    limit: int = listing.PAGE_SIZE


class EventListParams(Schema):
    query: str = ""
    cursor: str = ""


def _user_ref(user: Any) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "email": user.email, "name": user.display_name}


def issue_out(issue: Issue) -> dict:
    """Return the fields every issue answer has (project and assignees
    should be selected)."""
    team = issue.assignee_team
    fields = {
        name: getattr(issue, name)
        for name in (
            "title", "culprit", "type", "value", "level", "platform", "status",
            "substatus", "priority", "is_regressed", "first_seen", "last_seen",
            "times_seen", "user_count", "first_release", "last_release",
            "resolved_at", "resolved_in_release", "resolved_in_next_release",
            "resolved_in_commit", "ignored_at", "ignore_until", "ignore_count",
            "ignore_window", "ignore_user_count", "ignore_user_window",
            "inbox_reason", "inbox_at",
        )
    }  # fmt: skip
    return {
        **fields,
        "id": issue.pk,
        "short_id": issue.short_id_display,
        "url": issue.get_absolute_url(),
        "project": {
            "id": issue.project.pk,
            "slug": issue.project.slug,
            "name": issue.project.name,
        },
        "assignee": _user_ref(issue.assignee),
        "assignee_team": {"id": team.pk, "slug": team.slug, "name": team.name}
        if team
        else None,
    }


def _list_state(params: ListParams) -> listing.ListState:
    data = QueryDict(mutable=True)
    for name, value in params.dict().items():
        data[name] = str(value)
    if params.dir not in ("asc", "desc"):
        raise BadRequest('dir must be "asc" or "desc".')
    if not 1 <= params.limit <= 100:
        raise BadRequest("limit must be between 1 and 100.")
    return listing.ListState.from_params(data)


def _issue_page(
    request: HttpRequest, org: Organization, project: Project | None, params: ListParams
) -> dict:
    now = timezone.now()
    state = _list_state(params)
    issues = listing.matching_issues(org, project, state, user=request.user, now=now)
    issues = issues.select_related("project", "assignee", "assignee_team")
    page = page_issues(
        issues, state.sort, state.ascending, state.cursor or None, params.limit
    )
    rows = listing.issue_rows(page.items, state.period, now)
    items = [
        {
            **issue_out(row.issue),
            "period_events": row.events,
            "period_users": row.users,
            "environments": row.environments,
        }
        for row in rows
    ]
    return {
        "items": items,
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


@router.get(
    "/projects/{org_slug}/{project_slug}/issues",
    response=schemas.IssuePage,
    auth=scoped("event:read"),
)
def project_issues(
    request: HttpRequest, org_slug: str, project_slug: str, params: Query[ListParams]
) -> dict:
    """List a project's issues, as the project's issue list shows them."""
    project, membership = project_for(request.user, org_slug, project_slug)
    return _issue_page(request, membership.organization, project, params)


@router.get(
    "/organizations/{org_slug}/issues",
    response=schemas.IssuePage,
    auth=scoped("event:read"),
)
def organization_issues(
    request: HttpRequest, org_slug: str, params: Query[ListParams]
) -> dict:
    """List the issues of every project of an organization."""
    membership = membership_for(request.user, org_slug)
    return _issue_page(request, membership.organization, None, params)


def _tags(issue: Issue) -> list[dict]:
    keys = list(
        TagValue.objects.filter(issue=issue)
        .values_list("key", flat=True)
        .distinct()
        .order_by("key")[:MAX_TAG_KEYS]
    )
    tags: dict[str, dict] = {
        key: {"key": key, "total": 0, "values": []} for key in keys
    }
    for tag in TagValue.objects.filter(issue=issue, key__in=keys).order_by(
        "key", "-times_seen", "value"
    ):
        entry = tags[tag.key]
        entry["total"] += tag.times_seen
        if len(entry["values"]) < TOP_TAG_VALUES:
            entry["values"].append(
                {
                    "value": tag.value,
                    "count": tag.times_seen,
                    "first_seen": tag.first_seen,
                    "last_seen": tag.last_seen,
                }
            )
    return list(tags.values())


def _activity(activity: Activity) -> dict:
    return {
        "id": activity.pk,
        "kind": activity.kind,
        "user": _user_ref(activity.user),
        "data": activity.data if isinstance(activity.data, dict) else {},
        "created_at": activity.created_at,
    }


@router.get(
    "/issues/{issue_id}", response=schemas.IssueDetailOut, auth=scoped("event:read")
)
def issue_detail(request: HttpRequest, issue_id: str) -> dict:
    """Return one issue with its activity, tags and linked tickets."""
    issue, _ = issue_for(request.user, issue_id)
    links = ExternalIssueLink.objects.filter(issue=issue).order_by("created_at")
    return {
        **issue_out(issue),
        "metadata": issue.metadata if isinstance(issue.metadata, dict) else {},
        "is_bookmarked": issue.bookmarked_by.filter(pk=request.user.pk).exists(),
        "activity": [_activity(a) for a in overview.activities(issue)],
        "tags": _tags(issue),
        "links": [
            {
                "provider": link.provider,
                "external_id": link.external_id,
                "url": link.url,
                "created_at": link.created_at,
            }
            for link in links
        ],
    }


@router.get(
    "/issues/{issue_id}/activity",
    response=list[schemas.ActivityOut],
    auth=scoped("event:read"),
)
def issue_activity(request: HttpRequest, issue_id: str) -> list[dict]:
    """The issue's activity, newest first."""
    issue, _ = issue_for(request.user, issue_id)
    return [_activity(a) for a in overview.activities(issue)]


@router.post(
    "/issues/{issue_id}/comments",
    response={201: schemas.ActivityOut},
    auth=scoped("event:write"),
)
def add_comment(request: HttpRequest, issue_id: str, body: schemas.CommentIn) -> Status:
    """Add a comment to the issue's activity."""
    issue, _ = issue_for(request.user, issue_id, Role.MEMBER)
    activity = actions.add_comment(issue, user=request.user, text=body.text)
    return Status(201, _activity(activity))


def _event_summary(event: Event) -> dict:
    return {
        "event_id": event.event_id,
        "timestamp": event.timestamp,
        "title": event.title,
        "level": event.level,
        "release": event.release,
        "environment": event.environment,
        "user": event.user_identity,
    }


@router.get(
    "/issues/{issue_id}/events", response=schemas.EventPage, auth=scoped("event:read")
)
def issue_events(
    request: HttpRequest, issue_id: str, params: Query[EventListParams]
) -> dict:
    """The issue's events, newest first; ``query`` searches them as the UI."""
    issue, _ = issue_for(request.user, issue_id)
    page = overview.event_page(issue, params.query, params.cursor or None)
    return {
        "items": [_event_summary(event) for event in page.items],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


@router.get(
    "/issues/{issue_id}/events/{event_id}",
    response=schemas.EventOut,
    auth=scoped("event:read"),
)
def issue_event(request: HttpRequest, issue_id: str, event_id: str) -> dict:
    """One event of the issue, with the stored data; ``latest`` and
    ``oldest`` work as ids."""
    issue, _ = issue_for(request.user, issue_id)
    ref = event_id if event_id in ("latest", "oldest") else parse_event_id(event_id)
    event = overview.find_event(issue, ref)
    if event is None:
        raise Http404("No such event")
    try:
        data = event.get_data()
    except CorruptEventData:
        data = {}
    older, newer = overview.neighbours(issue, event)
    return {
        **_event_summary(event),
        "issue_id": event.issue_id,
        "project_id": event.project_id,
        "received_at": event.received_at,
        "size": event.size,
        "older_event_id": older,
        "newer_event_id": newer,
        "data": data,
    }


@router.get(
    "/issues/{issue_id}/tags", response=list[schemas.TagOut], auth=scoped("event:read")
)
def issue_tags(request: HttpRequest, issue_id: str) -> list[dict]:
    """The issue's tags with their most frequent values."""
    issue, _ = issue_for(request.user, issue_id)
    return _tags(issue)


def _action_form(body: schemas.ActionIn, org: Organization) -> IssueActionForm:
    data = {
        name: value
        for name, value in body.dict().items()
        if value is not None and name in IssueActionForm.base_fields
    }
    form = IssueActionForm(data, organization=org)
    if not form.is_valid():
        raise BadRequest(form.first_error())
    return form


def _check_delete_scope(request: HttpRequest, body: schemas.ActionIn) -> None:
    # Deleting needs Sentry's event:admin, like DELETE on /api/0/ issues.
    if body.action == "delete" and not scope_granted(
        request.auth.scopes, "event:admin"
    ):
        raise MissingScope("event:admin")


def _run(form: IssueActionForm, issues: QuerySet[Issue], request: HttpRequest) -> Any:
    if not issues.exists():
        raise BadRequest("Select at least one issue.")
    return form.run(issues, user=request.user, now=timezone.now())


@router.post(
    "/issues/{issue_id}/actions", response=schemas.ActionOut, auth=scoped("event:write")
)
def issue_action(request: HttpRequest, issue_id: str, body: schemas.ActionIn) -> dict:
    """Resolve, unresolve, ignore, assign, bookmark, prioritise, merge or
    delete one issue; answer the issue afterwards (null once deleted)."""
    _check_delete_scope(request, body)
    issue, membership = issue_for(request.user, issue_id, Role.MEMBER)
    form = _action_form(body, membership.organization)
    issues = Issue.objects.filter(pk=issue.pk)
    if body.action == "merge":
        others = Issue.objects.filter(project=issue.project, pk__in=body.merge_with)
        issues = issues | others
    outcome = _run(form, issues, request)
    if outcome.deleted:
        return {"message": outcome.message, "issue": None}
    survivor = outcome.survivor or issue
    fresh, _ = issue_for(request.user, str(survivor.pk))
    return {"message": outcome.message, "issue": issue_out(fresh)}


@router.post(
    "/organizations/{org_slug}/issues/bulk",
    response=schemas.ActionOut,
    auth=scoped("event:write"),
)
def bulk_action(
    request: HttpRequest, org_slug: str, body: schemas.BulkActionIn
) -> dict:
    """Apply one action to the ``ids`` given, or to every issue matching
    ``query`` when ``all_matching`` is true (as the list's bulk bar)."""
    _check_delete_scope(request, body)
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    org = membership.organization
    project = None
    if body.project:
        project, _ = project_for(request.user, org_slug, body.project)
    form = _action_form(body, org)
    data = QueryDict(mutable=True)
    data.setlist("issue", [str(pk) for pk in body.ids])
    if body.all_matching:
        data.update({"all_matching": "1", "query": body.query, "period": body.period})
    issues = selected_issues(data, org, project, user=request.user, now=timezone.now())
    outcome = _run(form, issues, request)
    survivor = issue_out(outcome.survivor) if outcome.survivor else None
    return {"message": outcome.message, "issue": survivor}


def _search_out(search: SavedSearch) -> dict:
    return {
        "id": search.pk,
        "name": search.name,
        "query": search.query,
        "sort": search.sort,
        "is_shared": search.is_shared,
        "project": search.project.slug if search.project else None,
        "owner": _user_ref(search.owner),
    }


@router.get(
    "/organizations/{org_slug}/searches",
    response=list[schemas.SavedSearchOut],
    auth=scoped("event:read"),
)
def saved_searches(
    request: HttpRequest, org_slug: str, project: str = ""
) -> list[dict]:
    """The user's saved searches and those shared in the organization."""
    membership = membership_for(request.user, org_slug)
    scoped_project = (
        project_for(request.user, org_slug, project)[0] if project else None
    )
    searches = listing.visible_saved_searches(
        membership.organization, scoped_project, request.user
    ).select_related("project")
    return [_search_out(search) for search in searches]


@router.post(
    "/organizations/{org_slug}/searches",
    response={201: schemas.SavedSearchOut},
    auth=scoped("event:write"),
)
def save_search(
    request: HttpRequest, org_slug: str, body: schemas.SavedSearchIn
) -> Status:
    """Save a search for oneself, or shared with the organization."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    project = (
        project_for(request.user, org_slug, body.project)[0] if body.project else None
    )
    form = SavedSearchForm(body.dict(exclude={"project"}))
    if not form.is_valid():
        raise BadRequest("Give the search a name.")
    search = SavedSearch.objects.create(
        organization=membership.organization,
        project=project,
        owner=request.user,
        **form.cleaned_data,
    )
    return Status(201, _search_out(search))


@router.delete(
    "/organizations/{org_slug}/searches/{search_id}",
    response={204: None},
    auth=scoped("event:write"),
)
def delete_search(request: HttpRequest, org_slug: str, search_id: str) -> Status:
    """Delete a saved search: its owner may, and admins may for shared ones."""
    membership: Membership = membership_for(request.user, org_slug, Role.MEMBER)
    search = get_object_or_404(
        SavedSearch, pk=parse_id(search_id), organization=membership.organization
    )
    if search.owner_id != request.user.pk and not search.is_shared:
        raise Http404("No such search")
    if search.owner_id != request.user.pk and not membership.has_role(Role.ADMIN):
        raise PermissionDenied("Only its owner or an admin can delete a shared search.")
    search.delete()
    return Status(204, None)
