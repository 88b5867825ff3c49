"""The project page that lists uploaded artifacts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from fixtrail.accounts.models import Role
from fixtrail.projects.access import get_project
from fixtrail.symbols.models import Artifact
from fixtrail.symbols.retention import delete_artifact

# Rows on the page, newest first; older ones are still applied by digest.
MAX_ROWS = 500


@login_required
def artifacts(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """List a project's source maps, minified files and ProGuard mappings."""
    project, membership = get_project(request.user, org_slug, project_slug)
    rows = Artifact.objects.filter(project=project).select_related("upload")
    ctx = {
        "organization": project.organization,
        "project": project,
        "artifacts": rows.order_by("-created_at", "url")[:MAX_ROWS],
        "count": rows.count(),
        "total_size": rows.aggregate(total=Sum("size"))["total"] or 0,
        "can_delete": membership.has_role(Role.MEMBER),
    }
    return render(request, "symbols/artifacts.html", ctx)


@login_required
@require_POST
def delete(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Delete one artifact (its content goes when nothing else names it)."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.MEMBER)
    delete_artifact(get_object_or_404(Artifact, project=project, pk=pk))
    return redirect("symbols:artifacts", org_slug=org_slug, project_slug=project_slug)
