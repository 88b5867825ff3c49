"""Releases, deploys, commits and repositories with Sentry's paths and
shapes: what ``sentry-cli releases …``, ``deploys …`` and ``repos list``
send (src/api/mod.rs in getsentry/sentry-cli).

Versions travel in one path segment, percent-encoded ("backend@2.1+b4"
arrives as ``backend@2.1%2Bb4``); sentry-cli replaces "/" by U+FFFD, which
``find_release`` maps back.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Status

from fixtrail.accounts.models import Organization, Role
from fixtrail.api.access import event_for, membership_for, project_for
from fixtrail.api.auth import TokenAuth, scope_granted
from fixtrail.api.errors import BadRequest, MissingScope
from fixtrail.api.pagination import page_rows
from fixtrail.api.release_payloads import (
    commit_payload,
    deploy_payload,
    release_payload,
)
from fixtrail.releases import actions
from fixtrail.releases.actions import ReleaseError, parse_time
from fixtrail.releases.models import Release
from fixtrail.releases.suspects import committers_payload

router = Router(tags=["releases"])

ORG_RELEASES = "/organizations/{org_slug}/releases/"
ORG_RELEASE = "/organizations/{org_slug}/releases/{version}/"


class ReleaseAuth(TokenAuth):
    """A token with ``project:releases`` (what Sentry's release tokens
    carry) or the general project scope at ``level``."""

    def __init__(self, level: str) -> None:
        super().__init__("")
        self.level = level

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = super().authenticate(request, token)
        needed = f"project:{self.level}"
        if not (
            "project:releases" in api_token.scopes
            or scope_granted(api_token.scopes, needed)
        ):
            raise MissingScope("project:releases")
        return api_token


READ = [ReleaseAuth("read")]
WRITE = [ReleaseAuth("write")]


def _body(request: HttpRequest) -> dict:
    try:
        body = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _release(organization: Organization, version: str) -> Release:
    release = actions.find_release(organization, version)
    if release is None:
        raise Http404("No such release")
    return release


def _list_of(body: dict, key: str) -> list | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadRequest(f"{key} must be a list.")
    return value


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except ReleaseError as exc:
        raise BadRequest(exc.message) from None


@router.get(ORG_RELEASES, auth=READ)
def organization_releases(
    request: HttpRequest, response: HttpResponse, org_slug: str
) -> list[dict]:
    """List the organization's releases, newest first (``query`` filters
    versions by substring, ``project`` by project id)."""
    membership = membership_for(request.user, org_slug)
    releases = actions.releases_of(membership.organization)
    if query := request.GET.get("query", "").strip():
        releases = releases.filter(version__icontains=query)
    projects = [p for p in request.GET.getlist("project") if p.isdigit()]
    if projects:
        releases = releases.filter(projects__pk__in=projects).distinct()
    now = timezone.now()
    health = request.GET.get("health") in ("1", "true")
    return [
        release_payload(r, now=now, health=health)
        for r in page_rows(request, response, releases)
    ]


@router.post(ORG_RELEASES, auth=WRITE, response={201: dict, 208: dict})
def create_release(request: HttpRequest, org_slug: str) -> Status:
    """Create a release (``releases new``); 208 when it existed."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    body = _body(request)
    org = membership.organization
    projects = _call(actions.projects_named, org, _list_of(body, "projects") or [])
    now = timezone.now()
    release, created = _call(
        actions.create_release,
        org,
        str(body.get("version") or ""),
        projects,
        now=now,
        url=str(body.get("url") or ""),
        ref=str(body.get("ref") or ""),
        started_at=parse_time(body.get("dateStarted")),
        released_at=parse_time(body.get("dateReleased")),
        refs=_list_of(body, "refs"),
        commits=_list_of(body, "commits"),
    )
    return Status(201 if created else 208, release_payload(release, now=now))


@router.get(ORG_RELEASE, auth=READ)
def organization_release(request: HttpRequest, org_slug: str, version: str) -> dict:
    """Return one release (``releases info``), with health."""
    membership = membership_for(request.user, org_slug)
    release = _release(membership.organization, version)
    return release_payload(release, now=timezone.now(), health=True)


@router.put(ORG_RELEASE, auth=WRITE)
def update_release(request: HttpRequest, org_slug: str, version: str) -> dict:
    """Finalize a release or set its commits (``refs`` read the ranges
    later, ``commits`` are stored at once)."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    org = membership.organization
    release = _release(org, version)
    body = _body(request)
    projects = _list_of(body, "projects")
    _call(
        actions.update_release,
        release,
        url=body["url"] if isinstance(body.get("url"), str) else None,
        ref=body["ref"] if isinstance(body.get("ref"), str) else None,
        started_at=parse_time(body.get("dateStarted")),
        released_at=parse_time(body.get("dateReleased")),
        projects=_call(actions.projects_named, org, projects) if projects else None,
        refs=_list_of(body, "refs"),
        commits=_list_of(body, "commits"),
    )
    return release_payload(release, now=timezone.now())


@router.delete(ORG_RELEASE, auth=WRITE)
def delete_release(request: HttpRequest, org_slug: str, version: str) -> HttpResponse:
    """Delete a release (``releases delete``); 204."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    actions.delete_release(_release(membership.organization, version))
    return HttpResponse(status=204)


@router.get(ORG_RELEASE + "deploys/", auth=READ)
def deploys(
    request: HttpRequest, response: HttpResponse, org_slug: str, version: str
) -> list[dict]:
    """List a release's deploys, newest first (``deploys list``)."""
    membership = membership_for(request.user, org_slug)
    release = _release(membership.organization, version)
    rows = release.deploys.order_by("-finished_at", "-pk")
    return [deploy_payload(d) for d in page_rows(request, response, rows)]


@router.post(ORG_RELEASE + "deploys/", auth=WRITE, response={201: dict})
def create_deploy(request: HttpRequest, org_slug: str, version: str) -> Status:
    """Record a deploy of a release (``deploys new``); 201."""
    membership = membership_for(request.user, org_slug, Role.MEMBER)
    release = _release(membership.organization, version)
    body = _body(request)
    deploy = _call(
        actions.record_deploy,
        release,
        str(body.get("environment") or ""),
        now=timezone.now(),
        name=str(body.get("name") or ""),
        url=str(body.get("url") or ""),
        started_at=parse_time(body.get("dateStarted")),
        finished_at=parse_time(body.get("dateFinished")),
    )
    return Status(201, deploy_payload(deploy))


@router.get(ORG_RELEASE + "commits/", auth=READ)
def release_commits(
    request: HttpRequest, response: HttpResponse, org_slug: str, version: str
) -> list[dict]:
    """List a release's commits, newest first."""
    membership = membership_for(request.user, org_slug)
    release = _release(membership.organization, version)
    rows = release.release_commits.select_related(
        "commit__repository", "commit__merge_request__repository"
    ).order_by("order", "pk")
    return [commit_payload(r.commit) for r in page_rows(request, response, rows)]


@router.get(ORG_RELEASE + "previous-with-commits/", auth=READ)
def previous_with_commits(request: HttpRequest, org_slug: str, version: str) -> dict:
    """Return the latest release before this one that has commits (``{}``
    when none): sentry-cli's ``set-commits --local`` reads from its last
    commit on."""
    membership = membership_for(request.user, org_slug)
    org = membership.organization
    current = actions.find_release(org, version)
    earlier = actions.releases_of(org).filter(release_commits__isnull=False)
    if current is not None:
        earlier = earlier.exclude(pk=current.pk).filter(
            created_at__lte=current.created_at
        )
    previous = earlier.distinct().first()
    if previous is None:
        return {}
    return release_payload(previous, now=timezone.now())


@router.get("/projects/{org_slug}/{project_slug}/releases/", auth=READ)
def project_releases(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List a project's releases, newest first (``releases list -p``)."""
    project, _ = project_for(request.user, org_slug, project_slug)
    releases = actions.releases_of(project.organization).filter(projects=project)
    now = timezone.now()
    health = request.GET.get("health") in ("1", "true")
    return [
        release_payload(r, now=now, health=health)
        for r in page_rows(request, response, releases)
    ]


@router.get("/projects/{org_slug}/{project_slug}/releases/{version}/", auth=READ)
def project_release(
    request: HttpRequest, org_slug: str, project_slug: str, version: str
) -> dict:
    """Return one release of a project, with health."""
    project, _ = project_for(request.user, org_slug, project_slug)
    release = _release(project.organization, version)
    if not release.projects.filter(pk=project.pk).exists():
        raise Http404("No such release")
    return release_payload(release, now=timezone.now(), health=True)


@router.get(
    "/projects/{org_slug}/{project_slug}/events/{event_id}/committers/",
    auth=[TokenAuth("event:read")],
)
def event_committers(
    request: HttpRequest, org_slug: str, project_slug: str, event_id: str
) -> dict:
    """Return the suspect commits of an event's issue, grouped by author,
    as Sentry's committers endpoint does (404 when there are none)."""
    project, _ = project_for(request.user, org_slug, project_slug)
    event = event_for(project, event_id)
    payload = committers_payload(event.issue)
    if not payload["committers"]:
        raise Http404("No committers found")
    return payload
