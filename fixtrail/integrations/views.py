"""Pages and endpoints of the tracker integrations: the organization's
trackers (admins connect, test and remove them), the tickets panel of the
issue page (members create, link and unlink), the bulk "Create tickets"
action, and the webhooks trackers call.

No view calls a tracker: filing, linking's first read and connection
tests are jobs, whose state the pages show.
"""

from __future__ import annotations

import secrets
import uuid

import orjson
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Role
from fixtrail.api.access import issue_for
from fixtrail.integrations import connections, tickets
from fixtrail.integrations.forms import LinkForm, RuleForm, TicketForm, first_error
from fixtrail.integrations.models import (
    AutoTicketRule,
    ExternalIssueLink,
    Integration,
)
from fixtrail.integrations.registry import TRACKERS, tracker
from fixtrail.integrations.sync import apply_change
from fixtrail.integrations.templatetags.tickets import panel_context
from fixtrail.issues.forms import selected_issues
from fixtrail.issues.models import Issue
from fixtrail.issues.search import SearchError
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import retry_now
from fixtrail.projects.models import Project

# Webhook bodies larger than this are refused unread: an issue event is a
# few kilobytes, and GitHub caps its payloads at 25 MB.
MAX_WEBHOOK_BYTES = 1024 * 1024


def _get_integration(request: HttpRequest, org_slug: str, name: str) -> Integration:
    membership = get_membership(request.user, org_slug, Role.ADMIN)
    return get_object_or_404(
        Integration, organization=membership.organization, name=name
    )


# The organization's trackers ---------------------------------------------


@login_required
def integration_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's trackers, their webhooks and auto-ticket rules."""
    membership = get_membership(request.user, org_slug)
    org = membership.organization
    integrations = (
        Integration.objects.filter(organization=org)
        .select_related("project")
        .prefetch_related("rules")
        .order_by("name")
    )
    rows = [
        {
            "integration": i,
            "checking": connections.pending_check(i),
            "failures": Job.objects.filter(
                owner=f"integration:{i.pk}", state=Job.State.FAILED
            ).order_by("-pk")[:3],
        }
        for i in integrations
    ]
    ctx = {
        "organization": org,
        "can_manage": membership.has_role(Role.ADMIN),
        "rows": rows,
        "trackers": TRACKERS.values(),
        "usage": tickets.tickets_created(org),
        "rule_form": RuleForm(),
    }
    return render(request, "integrations/list.html", ctx)


@login_required
def add_integration(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    """Connect a tracker; the webhook secret is shown once, on success."""
    membership = get_membership(request.user, org_slug, Role.ADMIN)
    org = membership.organization
    if kind not in TRACKERS:
        return redirect("integrations:list", org_slug)
    form = tracker(kind).form(request.POST or None)
    error = ""
    if request.method == "POST":
        try:
            integration = connections.add_integration(
                org, kind, request.POST, user=request.user
            )
        except connections.IntegrationError as exc:
            error = exc.message
        else:
            connections.request_check(integration)
            return render(
                request,
                "integrations/connected.html",
                {"organization": org, "integration": integration},
            )
    ctx = {
        "organization": org,
        "tracker": tracker(kind),
        "form": form,
        "error": error,
        "projects": Project.objects.filter(organization=org).order_by("slug"),
    }
    return render(request, "integrations/add.html", ctx)


@login_required
@require_POST
def check_integration(request: HttpRequest, org_slug: str, name: str) -> HttpResponse:
    """Test the connection (a job); the list shows the outcome."""
    integration = _get_integration(request, org_slug, name)
    connections.request_check(integration)
    messages.success(request, f"Testing {integration.name}…")
    return redirect("integrations:list", org_slug)


@login_required
@require_POST
def delete_integration(request: HttpRequest, org_slug: str, name: str) -> HttpResponse:
    """Disconnect a tracker; its links go with it, the tickets stay."""
    integration = _get_integration(request, org_slug, name)
    integration.delete()
    messages.success(request, f"Removed {integration.name}.")
    return redirect("integrations:list", org_slug)


@login_required
@require_POST
def add_rule(request: HttpRequest, org_slug: str, name: str) -> HttpResponse:
    """Add an auto-ticket rule: new issues matching a search get a ticket."""
    integration = _get_integration(request, org_slug, name)
    form = RuleForm(request.POST)
    if form.is_valid():
        AutoTicketRule.objects.create(
            integration=integration,
            query=form.cleaned_data["query"],
            created_by=request.user,
        )
        messages.success(request, "New issues matching that search get a ticket.")
    else:
        messages.error(request, first_error(form))
    return redirect("integrations:list", org_slug)


@login_required
@require_POST
def delete_rule(
    request: HttpRequest, org_slug: str, name: str, pk: int
) -> HttpResponse:
    integration = _get_integration(request, org_slug, name)
    get_object_or_404(AutoTicketRule, pk=pk, integration=integration).delete()
    messages.success(request, "Removed the rule.")
    return redirect("integrations:list", org_slug)


# The issue page's tickets ------------------------------------------------


def _back(issue: Issue) -> HttpResponse:
    return redirect(issue.get_absolute_url() + "#tickets")


@login_required
def ticket_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The tickets panel alone (htmx refreshes it while a ticket is filed)."""
    issue, membership = issue_for(request.user, str(pk))
    ctx = panel_context(issue, membership.has_role(Role.MEMBER))
    return render(request, "integrations/_tickets.html", ctx)


@login_required
@require_POST
def create_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """File a ticket from the (edited) form, as a job."""
    issue, _ = issue_for(request.user, str(pk), Role.MEMBER)
    form = TicketForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back(issue)
    data = form.cleaned_data
    try:
        integration = tickets.integration_for(issue, data["integration"])
        draft = tickets.TicketDraft(
            data["title"], data["body"], form.label_list(), data["assignee"]
        )
        tickets.request_ticket(
            issue, integration, key=data["request_key"], user=request.user, draft=draft
        )
    except tickets.TicketError as exc:
        messages.error(request, exc.message)
        return _back(issue)
    messages.success(request, f"Filing the ticket in {integration.name}…")
    return _back(issue)


@login_required
@require_POST
def link_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """Link an existing ticket by number, key or URL."""
    issue, _ = issue_for(request.user, str(pk), Role.MEMBER)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _back(issue)
    try:
        integration = tickets.integration_for(issue, form.cleaned_data["integration"])
        link = tickets.link_ticket(
            issue, integration, form.cleaned_data["ticket"], user=request.user
        )
    except tickets.TicketError as exc:
        messages.error(request, exc.message)
        return _back(issue)
    messages.success(request, f"Linked {link.label}.")
    return _back(issue)


@login_required
@require_POST
def unlink_ticket(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    issue, _ = issue_for(request.user, str(pk), Role.MEMBER)
    link = get_object_or_404(ExternalIssueLink, pk=link_id, issue=issue)
    tickets.unlink_ticket(link)
    messages.success(request, f"Unlinked {link.label}.")
    return _back(issue)


@login_required
@require_POST
def retry_ticket(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    """Try a failed ticket request again."""
    issue, _ = issue_for(request.user, str(pk), Role.MEMBER)
    job = get_object_or_404(tickets.ticket_requests(issue), pk=job_id)
    retry_now(job)
    messages.success(request, "Trying again…")
    return _back(issue)


@login_required
@require_POST
def bulk_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """File a prefilled ticket for each selected issue (as jobs)."""
    membership = get_membership(request.user, org_slug, Role.MEMBER)
    org = membership.organization
    slug = request.POST.get("project", "")
    project = get_object_or_404(Project, organization=org, slug=slug) if slug else None
    back = request.POST.get("next", "")
    if not (
        back.startswith("/")
        and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        back = project.get_absolute_url() if project else org.get_absolute_url()
    try:
        issues = list(
            selected_issues(
                request.POST, org, project, user=request.user, now=timezone.now()
            ).select_related("project__organization")[: tickets.MAX_BULK_TICKETS]
        )
        filed = _bulk_requests(request, issues)
    except (SearchError, tickets.TicketError) as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, f"Filing {filed} ticket(s)…")
    return redirect(back)


def _bulk_requests(request: HttpRequest, issues: list[Issue]) -> int:
    if not issues:
        raise tickets.TicketError("Select at least one issue.")
    name = request.POST.get("integration", "")
    key = request.POST.get("request_key", "") or secrets.token_hex(8)
    filed = 0
    for issue in issues:
        integration = tickets.integration_for(issue, name)
        tickets.request_ticket(issue, integration, key=f"bulk-{key}", user=request.user)
        filed += 1
    return filed


# Webhooks ----------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, hook_id: uuid.UUID) -> HttpResponse:
    """Take a tracker's issue event: verify its secret (constant time)
    before reading the body, then record the ticket states it reports."""
    integration = Integration.objects.filter(hook_id=hook_id).first()
    if integration is None:
        return JsonResponse({"detail": "No such webhook"}, status=404)
    length = request.headers.get("Content-Length", "0")
    if length.isdigit() and int(length) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"detail": "Body too large"}, status=413)
    body = request.body
    kind = tracker(integration.kind)
    if not kind.verify(request.headers, body, integration.webhook_secret):
        return JsonResponse(
            {"detail": f"Bad or missing {kind.secret_header}"}, status=403
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return JsonResponse({"detail": "The body is not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "The body is not a JSON object"}, status=400)
    now = timezone.now()
    changes = kind.parse(request.headers, payload, integration.target)
    resolved = sum(apply_change(integration, c, now=now) for c in changes)
    return JsonResponse({"changes": len(changes), "resolved": resolved})
