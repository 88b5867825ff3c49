"""Organization overview, project creation and project settings."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.events import stats
from fixtrail.projects.access import get_project
from fixtrail.projects.forms import ProjectCreateForm, ProjectSettingsForm
from fixtrail.projects.models import ProjectKey, create_project_with_key
from fixtrail.projects.snippets import setup_context
from fixtrail.queue import Backlog, QueueUnavailable, read_backlog


@login_required
def organization(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List the organization's projects."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    projects = org.projects.order_by("name")
    ctx = {
        "organization": org,
        "projects": projects,
        "can_create": membership.has_role(Role.ADMIN),
    }
    return render(request, "projects/organization.html", ctx)


@login_required
def create_project(request: HttpRequest, org_slug: str) -> HttpResponse:
    membership = get_membership(request.user, org_slug, Role.ADMIN)
    org = membership.organization
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = create_project_with_key(
            org, form.cleaned_data["name"], form.cleaned_data["platform"]
        )
        messages.success(request, "Project created. Point your SDK at this DSN.")
        # A new project opens on its issue list, which waits for the first
        # event with the DSN and the platform's snippet.
        return redirect(project.get_absolute_url())
    return render(request, "projects/create.html", {"organization": org, "form": form})


@login_required
def project_settings(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Show the DSN with set-up snippets; admins edit the settings."""
    project, membership = get_project(request.user, org_slug, project_slug)
    can_edit = membership.has_role(Role.ADMIN)
    form = ProjectSettingsForm(request.POST or None, instance=project)
    if request.method == "POST":
        get_project(request.user, org_slug, project_slug, Role.ADMIN)
        if form.is_valid():
            form.save()
            messages.success(request, "Settings saved.")
            return redirect(
                "projects:settings", org_slug=org_slug, project_slug=project.slug
            )
    ctx = {
        "organization": project.organization,
        "project": project,
        "keys": project.keys.order_by("id"),
        "form": form,
        "can_edit": can_edit,
        **setup_context(project),
    }
    return render(request, "projects/settings.html", ctx)


STATS_PERIODS = {
    "24h": dt.timedelta(hours=24),
    "14d": dt.timedelta(days=14),
    "30d": dt.timedelta(days=30),
}


@login_required
def project_stats(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Show what arrived: items by type and outcome, sessions per release,
    processing errors, and the queue's backlog."""
    project, _ = get_project(request.user, org_slug, project_slug)
    period = request.GET.get("period", "24h")
    if period not in STATS_PERIODS:
        period = "24h"
    since = timezone.now() - STATS_PERIODS[period]
    ctx = {
        "organization": project.organization,
        "project": project,
        "period": period,
        "periods": list(STATS_PERIODS),
        "outcomes": stats.OUTCOME_ORDER,
        "rows": stats.outcome_table(project, since),
        "reasons": stats.filter_reasons(project, since),
        "sessions": stats.session_table(project, since.date()),
        "errors": stats.recent_processing_errors(project),
        "backlog": _backlog(),
    }
    return render(request, "projects/stats.html", ctx)


def _backlog() -> Backlog | None:
    # The page still renders when the queue is down; it says so instead.
    try:
        return read_backlog(settings.QUEUE_URL)
    except QueueUnavailable:
        return None


@login_required
@require_POST
def toggle_key(
    request: HttpRequest, org_slug: str, project_slug: str, pk: int
) -> HttpResponse:
    """Enable or disable a DSN key."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.ADMIN)
    key = get_object_or_404(project.keys, pk=pk)
    key.is_active = not key.is_active
    key.save(update_fields=["is_active"])
    return redirect("projects:settings", org_slug=org_slug, project_slug=project_slug)


@login_required
@require_POST
def create_key(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project, _ = get_project(request.user, org_slug, project_slug, Role.ADMIN)
    ProjectKey.objects.create(
        project=project, label=request.POST.get("label", "")[:64] or "Key"
    )
    return redirect("projects:settings", org_slug=org_slug, project_slug=project_slug)
