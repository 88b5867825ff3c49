"""The organization page that imports from Sentry as a background job, and
the project page that forwards to another server while both run."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.adoption import forwarding
from fixtrail.adoption.forms import ForwardingForm, SentryImportForm
from fixtrail.adoption.jobs import job_owner, start_import
from fixtrail.jobs.models import Job
from fixtrail.projects.access import get_project

# The page lists this many of the organization's latest imports.
RECENT_IMPORTS = 10


@login_required
def import_sentry(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Show the import form and the latest imports; start one on POST."""
    org = get_membership(request.user, org_slug, Role.ADMIN).organization
    form = SentryImportForm(request.POST or None, initial={"org": org.slug})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        start_import(
            org, request.user, url=data["url"], token=data["token"],
            source_org=data["org"], issues=data["issues"],
        )  # fmt: skip
        messages.success(request, "Import started; this page shows its progress.")
        return redirect("adoption:import_sentry", org_slug=org.slug)
    jobs = Job.objects.filter(owner=job_owner(org)).order_by("-pk")[:RECENT_IMPORTS]
    ctx = {"organization": org, "form": form, "jobs": jobs}
    return render(request, "adoption/import_sentry.html", ctx)


@login_required
def project_forwarding(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Show where forwarding stands; set the DSN or stop on POST (admins)."""
    project, _ = get_project(request.user, org_slug, project_slug, Role.ADMIN)
    form = ForwardingForm(request.POST if "dsn" in request.POST else None)
    if request.method == "POST":
        if "stop" in request.POST:
            forwarding.stop_forwarding(project)
            messages.success(request, "Forwarding stopped.")
            return redirect("adoption:forwarding", org_slug, project.slug)
        if form.is_valid():
            forwarding.set_forwarding(project, form.cleaned_data["dsn"])
            messages.success(
                request, "Forwarding on: new events go to both servers within a minute."
            )
            return redirect("adoption:forwarding", org_slug, project.slug)
    ctx = {
        "organization": project.organization,
        "project": project,
        "form": form,
        "status": forwarding.status(project),
        "max_bytes": settings.FORWARD_MAX_BYTES,
    }
    return render(request, "adoption/forwarding.html", ctx)
