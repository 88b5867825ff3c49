"""Repositories, releases and suspect commits in Fixtrail's own API.

Admins link and unlink repositories (the token is write-only: it is never
answered back); everyone in the organization reads releases and the
suspect commits of issues.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from fixtrail.accounts.models import Role
from fixtrail.api.access import issue_for, membership_for, parse_id, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.release_payloads import release_payload
from fixtrail.releases.actions import (
    ReleaseError,
    add_repository,
    find_release,
    releases_of,
    remove_repository,
)
from fixtrail.releases.models import Repository
from fixtrail.releases.suspects import suspect_commits

router = Router(tags=["releases"])

# Releases per list answer; the pages show as many.
MAX_RELEASES = 100


class RepositoryOut(Schema):
    id: int
    name: str = Field(description="The name sentry-cli's set-commits uses.")
    provider: str
    url: str
    has_token: bool
    created_at: dt.datetime


class RepositoryIn(Schema):
    provider: str = Field(description="gitlab, github or git")
    url: str = Field(max_length=500)
    token: str = Field("", max_length=1000, description="Stored encrypted.")
    name: str = Field("", max_length=200, description="Default: the URL's path.")


class SuspectOut(Schema):
    sha: str
    message: str
    author_name: str
    author_email: str
    authored_at: dt.datetime | None
    release: str
    path: str
    blamed: bool
    reason: str
    repository: str
    merge_request: int | None
    merge_request_title: str | None
    merge_request_url: str | None


def repository_out(repository: Repository) -> dict:
    return {
        "id": repository.pk,
        "name": repository.name,
        "provider": repository.provider,
        "url": repository.url,
        "has_token": bool(repository.token),
        "created_at": repository.created_at,
    }


@router.get(
    "/projects/{org_slug}/{project_slug}/repositories",
    response=list[RepositoryOut],
    auth=scoped("project:read"),
)
def repositories(request: HttpRequest, org_slug: str, project_slug: str) -> list:
    """The repositories linked to a project."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return [repository_out(r) for r in project.repositories.order_by("name")]


@router.post(
    "/projects/{org_slug}/{project_slug}/repositories",
    response={201: RepositoryOut},
    auth=scoped("project:write"),
)
def link_repository(
    request: HttpRequest, org_slug: str, project_slug: str, body: RepositoryIn
) -> Status:
    """Link a repository to a project (admins); linking one the
    organization has already updates its URL and, when given, its token."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    try:
        repository, _ = add_repository(
            project.organization,
            project,
            provider=body.provider,
            url=body.url,
            token=body.token,
            name=body.name,
        )
    except ReleaseError as exc:
        raise BadRequest(exc.message) from None
    return Status(201, repository_out(repository))


@router.delete(
    "/projects/{org_slug}/{project_slug}/repositories/{repository_id}",
    auth=scoped("project:write"),
)
def unlink_repository(
    request: HttpRequest, org_slug: str, project_slug: str, repository_id: str
) -> HttpResponse:
    """Unlink a repository from a project (admins); 204."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    repository = project.repositories.filter(pk=parse_id(repository_id)).first()
    if repository is None:
        raise Http404("No such repository")
    remove_repository(repository, project)
    return HttpResponse(status=204)


@router.get("/organizations/{org_slug}/releases", auth=scoped("project:read"))
def releases(request: HttpRequest, org_slug: str) -> list[dict]:
    """The organization's newest releases, in Sentry's release shape."""
    membership = membership_for(request.user, org_slug)
    now = timezone.now()
    rows = releases_of(membership.organization)[:MAX_RELEASES]
    return [release_payload(r, now=now) for r in rows]


@router.get("/organizations/{org_slug}/releases/{version}", auth=scoped("project:read"))
def release(request: HttpRequest, org_slug: str, version: str) -> dict:
    """One release with its commits, deploys and health."""
    membership = membership_for(request.user, org_slug)
    found = find_release(membership.organization, version)
    if found is None:
        raise Http404("No such release")
    return release_payload(found, now=timezone.now(), health=True)


@router.get(
    "/issues/{issue_id}/suspects", response=list[SuspectOut], auth=scoped("event:read")
)
def suspects(request: HttpRequest, issue_id: str) -> list[dict]:
    """The commits that probably introduced an issue, most suspect first."""
    issue, _ = issue_for(request.user, issue_id)
    rows = []
    for suspect in suspect_commits(issue, limit=5):
        commit = suspect.commit
        mr = commit.merge_request
        rows.append(
            {
                "sha": commit.sha,
                "message": commit.message,
                "author_name": commit.author_name,
                "author_email": commit.author_email,
                "authored_at": commit.authored_at,
                "release": suspect.release,
                "path": suspect.path,
                "blamed": suspect.blamed,
                "reason": suspect.reason,
                "repository": commit.repository.name,
                "merge_request": mr.number if mr else None,
                "merge_request_title": mr.title if mr else None,
                "merge_request_url": mr.url if mr else None,
            }
        )
    return rows
