"""Merge-request pages: an organization's merge requests, and one merge
request with its commits, the issues attributed to it, and Fixtrail's
note on it (with a button to write it now).

Viewers read; writing the note needs the member role.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Membership, Role, User
from fixtrail.releases.feedback import (
    FeedbackError,
    cannot_note,
    last_note_job,
    request_merge_request_note,
)
from fixtrail.releases.merge_requests import attributed_issues, reference
from fixtrail.releases.models import MergeRequest

# Rows shown on one page; the API pages through the rest.
LIST_ROWS = 100
COMMIT_ROWS = 200
ISSUE_ROWS = 50


def get_merge_request(
    user: User, org_slug: str, pk: int, minimum: str = Role.VIEWER
) -> tuple[MergeRequest, Membership]:
    """Return a merge request of the organization and the user's membership:
    404 for unknown ones and outsiders, 403 below ``minimum``."""
    membership = get_membership(user, org_slug, minimum)
    merge_request = (
        MergeRequest.objects.select_related("repository__organization")
        .filter(pk=pk, repository__organization=membership.organization)
        .first()
    )
    if merge_request is None:
        raise Http404("No such merge request")
    return merge_request, membership


@login_required
def merge_request_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's merge requests, most recently merged first."""
    membership = get_membership(request.user, org_slug)
    rows = list(
        MergeRequest.objects.filter(repository__organization=membership.organization)
        .select_related("repository")
        .annotate(commit_count=Count("commits"))
        .order_by("-merged_at", "-pk")[:LIST_ROWS]
    )
    for row in rows:
        row.reference = reference(row)
    return render(
        request,
        "releases/merge_request_list.html",
        {"organization": membership.organization, "merge_requests": rows},
    )


@login_required
def merge_request_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """One merge request: commits, attributed issues, and its note."""
    merge_request, membership = get_merge_request(request.user, org_slug, pk)
    commits = merge_request.commits.order_by("-authored_at", "-pk")[:COMMIT_ROWS]
    repository = merge_request.repository
    return render(
        request,
        "releases/merge_request.html",
        {
            "organization": membership.organization,
            "merge_request": merge_request,
            "repository": repository,
            "reference": reference(merge_request),
            "window_minutes": settings.MR_FEEDBACK_MINUTES,
            "commits": commits,
            "releases": attributed_issues(merge_request, limit=ISSUE_ROWS),
            "note_job": last_note_job(merge_request),
            "cannot_note": cannot_note(merge_request),
            "can_note": membership.has_role(Role.MEMBER),
        },
    )


@login_required
@require_POST
def merge_request_note(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Queue Fixtrail's note on the merge request now (members)."""
    merge_request, _ = get_merge_request(request.user, org_slug, pk, Role.MEMBER)
    try:
        request_merge_request_note(merge_request)
    except FeedbackError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "The note is queued; Fixtrail writes it on the merge request in a "
            "moment. Reload to see how it went.",
        )
    return redirect("merge_requests:detail", org_slug=org_slug, pk=merge_request.pk)
