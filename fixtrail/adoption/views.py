"""The organization page that imports from Sentry as a background job."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.adoption.forms import SentryImportForm
from fixtrail.adoption.jobs import job_owner, start_import
from fixtrail.jobs.models import Job

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
