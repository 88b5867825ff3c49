"""The release page, a project's release list, and linking repositories
from the project's settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.projects.access import get_project
from fixtrail.releases import overview
from fixtrail.releases.actions import (
    ReleaseError,
    add_repository,
    find_release,
    remove_repository,
)


@login_required
def release_detail(request: HttpRequest, org_slug: str, version: str) -> HttpResponse:
    """A release: commits and merge requests, deploys, new, regressed and
    resolved issues, events against the previous release, and health."""
    membership = get_membership(request.user, org_slug)
    release = find_release(membership.organization, version)
    if release is None:
        raise Http404("No such release")
    ctx = overview.release_page(release, timezone.now())
    return render(request, "releases/detail.html", ctx)


@login_required
def project_releases(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """A project's releases, newest first."""
    project, _ = get_project(request.user, org_slug, project_slug)
    ctx = {
        "organization": project.organization,
        "project": project,
        "rows": overview.project_releases(project, timezone.now()),
    }
    return render(request, "releases/list.html", ctx)


@login_required
@require_POST
def link_repository(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Link a repository to the project (admins), from its settings page."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.ADMIN)
    try:
        repository, _ = add_repository(
            project.organization,
            project,
            provider=request.POST.get("provider", ""),
            url=request.POST.get("url", ""),
            token=request.POST.get("token", ""),
            name=request.POST.get("name", ""),
        )
    except ReleaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Linked {repository.name}.")
    return redirect("projects:settings", org_slug=org_slug, project_slug=project_slug)


@login_required
@require_POST
def unlink_repository(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Unlink a repository from the project (admins)."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.ADMIN)
    repository = project.repositories.filter(pk=pk).first()
    if repository is None:
        raise Http404("No such repository")
    remove_repository(repository, project)
    messages.success(request, f"Unlinked {repository.name}.")
    return redirect("projects:settings", org_slug=org_slug, project_slug=project_slug)
