"""The instance usage report page, for instance administrators only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fixtrail.usage.report import usage_report

# The windows the page offers, in days.
WINDOWS = (7, 30, 90)
DEFAULT_DAYS = 30


@login_required
def usage(request: HttpRequest) -> HttpResponse:
    """Show the usage report; anyone but an instance administrator gets 404."""
    if not request.user.is_superuser:
        raise Http404("No such page")
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    report = usage_report(timezone.now(), days if days in WINDOWS else DEFAULT_DAYS)
    return render(request, "usage/report.html", {"report": report, "windows": WINDOWS})
