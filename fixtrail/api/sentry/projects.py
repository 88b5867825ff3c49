"""Projects, their DSN keys, issue lists and events."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router

from fixtrail.accounts.models import Membership, Role
from fixtrail.api.access import event_for, membership_for, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.pagination import page_rows
from fixtrail.api.selection import int_values, issue_base
from fixtrail.api.sentry.issues import (
    bulk_delete,
    bulk_update,
    event_detail,
    event_summaries,
    issue_list,
)
from fixtrail.api.serializers import key_payload, project_payloads
from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project

router = Router(tags=["projects"])

PROJECT_ISSUES = "/projects/{org_slug}/{project_slug}/issues/"
ORG_ISSUES = "/organizations/{org_slug}/issues/"


@router.get("/projects/", auth=scoped("project:read"))
def projects(request: HttpRequest, response: HttpResponse) -> list[dict]:
    """List the projects of every organization the user is a member of."""
    rows = Project.objects.for_user(request.user).select_related("organization")
    return project_payloads(
        page_rows(request, response, rows.order_by("organization__slug", "slug", "pk"))
    )


@router.get("/projects/{org_slug}/{project_slug}/", auth=scoped("project:read"))
def project(request: HttpRequest, org_slug: str, project_slug: str) -> dict:
    project, _ = project_for(request.user, org_slug, project_slug)
    (payload,) = project_payloads([project])
    return payload


@router.get("/projects/{org_slug}/{project_slug}/keys/", auth=scoped("project:read"))
def project_keys(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List a project's DSN keys (client keys)."""
    project, _ = project_for(request.user, org_slug, project_slug)
    keys = project.keys.select_related("project").order_by("pk")
    return [key_payload(key) for key in page_rows(request, response, keys)]


@router.get(PROJECT_ISSUES, auth=scoped("event:read"))
def project_issues(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List a project's issues: ``query``, ``sort``, ``statsPeriod``,
    ``environment``, ``start``/``end``, ``limit``, ``cursor``."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return issue_list(request, response, issue_base(project=project))


@router.put(PROJECT_ISSUES, auth=scoped("event:write"))
def project_issues_update(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse | dict:
    """Change the issues chosen by ``id``, ``status`` or ``query``."""
    project, membership = project_for(request.user, org_slug, project_slug)
    return bulk_update(request, issue_base(project=project), membership)


@router.delete(PROJECT_ISSUES, auth=scoped("event:admin"))
def project_issues_delete(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Delete the issues chosen by ``id``, ``status`` or ``query``."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    return bulk_delete(request, issue_base(project=project))


def _org_issues(
    request: HttpRequest, org_slug: str, minimum: str = Role.VIEWER
) -> tuple[QuerySet[Issue], Membership]:
    membership = membership_for(request.user, org_slug, minimum)
    qs = issue_base(project__organization=membership.organization)
    # Sentry's clients send project=-1 to mean "all projects".
    params = request.GET.copy()
    params.setlist("project", [p for p in params.getlist("project") if p != "-1"])
    project_ids = int_values(params, "project")
    if project_ids:
        qs = qs.filter(project_id__in=project_ids)
    return qs, membership


@router.get(ORG_ISSUES, auth=scoped("event:read"))
def organization_issues(
    request: HttpRequest, response: HttpResponse, org_slug: str
) -> list[dict]:
    """List an organization's issues; ``project`` narrows to some projects."""
    qs, _ = _org_issues(request, org_slug)
    return issue_list(request, response, qs)


@router.put(ORG_ISSUES, auth=scoped("event:write"))
def organization_issues_update(
    request: HttpRequest, org_slug: str
) -> HttpResponse | dict:
    qs, membership = _org_issues(request, org_slug)
    return bulk_update(request, qs, membership)


@router.delete(ORG_ISSUES, auth=scoped("event:admin"))
def organization_issues_delete(request: HttpRequest, org_slug: str) -> HttpResponse:
    qs, _ = _org_issues(request, org_slug, Role.MEMBER)
    return bulk_delete(request, qs)


@router.get("/projects/{org_slug}/{project_slug}/events/", auth=scoped("event:read"))
def project_events(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List a project's events, newest first."""
    project, _ = project_for(request.user, org_slug, project_slug)
    events = Event.objects.filter(project=project).order_by("-timestamp", "-pk")
    return event_summaries(page_rows(request, response, events))


@router.get(
    "/projects/{org_slug}/{project_slug}/events/{event_id}/", auth=scoped("event:read")
)
def project_event(
    request: HttpRequest, org_slug: str, project_slug: str, event_id: str
) -> dict:
    """Return one event of a project by its event id."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return event_detail(event_for(project, event_id))
