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
from fixtrail.digest.grouping import GROUPING_VERSIONS
from fixtrail.events import stats
from fixtrail.issues.listing import (
    REVIEW_PERIOD,
    REVIEW_QUERY,
    REVIEW_SORT,
    ListState,
    waiting_for_review,
)
from fixtrail.issues.regrouping import (
    PREVIEW_EVENTS,
    apply_upgrade,
    preview_upgrade,
)
from fixtrail.projects.access import get_project
from fixtrail.projects.forms import ProjectCreateForm, ProjectSettingsForm
from fixtrail.projects.models import (
    ProjectKey,
    ProjectOwnership,
    create_project_with_key,
)
from fixtrail.projects.owners import OwnershipError, ownership_of, save_ownership
from fixtrail.projects.snippets import setup_context
from fixtrail.queue import Backlog, QueueUnavailable, read_backlog


@login_required
def organization(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List the organization's projects."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    projects = list(org.projects.order_by("name"))
    waiting = waiting_for_review(org, timezone.now())
    review_qs = ListState(
        query=REVIEW_QUERY, sort=REVIEW_SORT, period=REVIEW_PERIOD
    ).querystring()
    ctx = {
        "organization": org,
        "projects": [(p, waiting.get(p.pk, 0)) for p in projects],
        "review_querystring": review_qs,
        "waiting_total": sum(waiting.values()),
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
        "repositories": project.repositories.order_by("name"),
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
        "queue_max_items": settings.QUEUE_MAX_ITEMS,
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


@login_required
def project_ownership(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Show the ownership rules and CODEOWNERS file; admins edit them.

    A bad rule is shown with its line and reason, and the text typed stays
    in the form, so nothing is lost.
    """
    project, membership = get_project(request.user, org_slug, project_slug)
    ownership = ownership_of(project)
    values = {
        "raw": ownership.raw,
        "codeowners": ownership.codeowners,
        "fallthrough": ownership.fallthrough,
        "auto_assignment": ownership.auto_assignment,
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        get_project(request.user, org_slug, project_slug, Role.ADMIN)
        values = {
            "raw": request.POST.get("raw", ""),
            "codeowners": request.POST.get("codeowners", ""),
            "fallthrough": request.POST.get("fallthrough") == "on",
            "auto_assignment": request.POST.get("auto_assignment", ""),
        }
        if values["auto_assignment"] not in ProjectOwnership.AutoAssignment.values:
            errors["auto_assignment"] = "Choose whether to auto-assign."
        else:
            try:
                saved = save_ownership(
                    project,
                    now=timezone.now(),
                    raw=values["raw"],
                    codeowners=values["codeowners"],
                    codeowners_source="paste",
                    fallthrough=values["fallthrough"],
                    auto_assignment=values["auto_assignment"],
                )
            except OwnershipError as exc:
                errors[exc.field] = exc.message
            else:
                messages.success(request, "Ownership rules saved.")
                for warning in saved.warnings:
                    messages.warning(request, warning)
                return redirect(
                    "projects:ownership", org_slug=org_slug, project_slug=project.slug
                )
    ctx = {
        "organization": project.organization,
        "project": project,
        "values": values,
        "errors": errors,
        "auto_choices": ProjectOwnership.AutoAssignment.choices,
        "can_edit": membership.has_role(Role.ADMIN),
    }
    return render(
        request, "projects/ownership.html", ctx, status=400 if errors else 200
    )


@login_required
def project_grouping(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Show the project's grouping version and the newer ones; ``?preview=N``
    counts what moving to N would merge and split; admins apply it (POST)."""
    project, membership = get_project(request.user, org_slug, project_slug)
    can_edit = membership.has_role(Role.ADMIN)
    preview, error = None, ""
    if request.method == "POST":
        get_project(request.user, org_slug, project_slug, Role.ADMIN)
        try:
            version = int(request.POST.get("version", ""))
            done = apply_upgrade(
                project,
                version,
                user=request.user,
                now=timezone.now(),
                merge=request.POST.get("merge") == "on",
            )
        except ValueError as exc:
            message = getattr(exc, "message", "Choose a grouping version.")
            messages.error(request, message)
        else:
            messages.success(
                request,
                f"Moved to grouping version {version}: {done.merges} issues merged, "
                f"{done.splits} would have split.",
            )
        return redirect(
            "projects:grouping", org_slug=org_slug, project_slug=project.slug
        )
    wanted = request.GET.get("preview", "")
    if wanted:
        try:
            preview = preview_upgrade(project, int(wanted))
        except ValueError as exc:
            error = getattr(exc, "message", "Choose a grouping version.")
    ctx = {
        "organization": project.organization,
        "project": project,
        "current": GROUPING_VERSIONS.get(project.grouping_version),
        "newer": [
            config
            for version, config in sorted(GROUPING_VERSIONS.items())
            if version > project.grouping_version
        ],
        "preview": preview,
        "preview_events": PREVIEW_EVENTS,
        "error": error,
        "can_edit": can_edit,
    }
    return render(request, "projects/grouping.html", ctx, status=400 if error else 200)
