"""``/api/0/`` itself, organizations, their projects and repositories."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from fixtrail.accounts.models import Organization
from fixtrail.api.access import membership_for
from fixtrail.api.auth import optional_token, scoped
from fixtrail.api.pagination import page_rows
from fixtrail.api.release_payloads import repository_payload
from fixtrail.api.serializers import (
    auth_payload,
    organization_payload,
    project_payloads,
    user_payload,
)

router = Router(tags=["organizations"])


@router.get("/", auth=None, summary="Who the token belongs to")
def root(request: HttpRequest) -> dict:
    """Answer sentry-cli's auth check: the token's user and scopes.

    Without a token it answers nulls, as Sentry does; with an unknown
    token, 401.
    """
    token = optional_token(request)
    if token is None:
        return {"version": "0", "auth": None, "user": None}
    return {
        "version": "0",
        "auth": auth_payload(token),
        "user": user_payload(token.user),
    }


@router.get("/organizations/", auth=scoped("org:read"))
def organizations(request: HttpRequest, response: HttpResponse) -> list[dict]:
    """List the organizations the token's user is a member of."""
    orgs = Organization.objects.for_user(request.user).order_by("name", "pk")
    return [organization_payload(org) for org in page_rows(request, response, orgs)]


@router.get("/organizations/{org_slug}/", auth=scoped("org:read"))
def organization(request: HttpRequest, org_slug: str) -> dict:
    membership = membership_for(request.user, org_slug)
    return organization_payload(membership.organization)


@router.get("/organizations/{org_slug}/projects/", auth=scoped("project:read"))
def organization_projects(
    request: HttpRequest, response: HttpResponse, org_slug: str
) -> list[dict]:
    """List an organization's projects (sentry-cli ``projects list``)."""
    membership = membership_for(request.user, org_slug)
    projects = membership.organization.projects.select_related("organization")
    rows = page_rows(request, response, projects.order_by("slug", "pk"))
    return project_payloads(rows)


@router.get("/organizations/{org_slug}/repos/", auth=scoped("org:read"))
def repositories(request: HttpRequest, response: HttpResponse, org_slug: str) -> list:
    """List the organization's code repositories (``repos list``, and
    what ``set-commits`` checks names against)."""
    membership = membership_for(request.user, org_slug)
    repos = membership.organization.repositories.order_by("name", "pk")
    return [repository_payload(r) for r in page_rows(request, response, repos)]
