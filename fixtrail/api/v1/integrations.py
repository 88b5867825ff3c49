"""Trackers and tickets in Fixtrail's own API: connect, list, test and
remove trackers and their auto-ticket rules (admins); file, link, list and
unlink an issue's tickets (members); count tickets filed from errors.

Filing a ticket and testing a connection are jobs: the answer is 202 with
the job, and the issue's tickets (or the tracker) show the outcome.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from fixtrail.accounts.models import Role
from fixtrail.api.access import check_slug, issue_for, membership_for, parse_id
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.integrations import connections, tickets
from fixtrail.integrations.forms import RuleForm, first_error
from fixtrail.integrations.models import AutoTicketRule, ExternalIssueLink, Integration
from fixtrail.jobs.models import Job

router = Router(tags=["integrations"])


class IntegrationIn(Schema):
    kind: str
    name: str = ""
    project: str = ""
    token: str
    labels: str = ""
    assignee: str = ""
    # GitLab
    url: str = ""
    target: str = ""
    # GitHub
    repo: str = ""
    api_url: str = ""
    # Jira
    site: str = ""
    email: str = ""
    project_key: str = ""
    issue_type: str = ""


class IntegrationOut(Schema):
    name: str
    kind: str
    project: str | None
    url: str
    target: str
    issue_type: str
    labels: list[str]
    assignee: str
    webhook_url: str
    last_checked_at: dt.datetime | None
    last_check_error: str


class ConnectedOut(IntegrationOut):
    # Shown in this answer only; never again.
    webhook_secret: str


class JobOut(Schema):
    id: int
    kind: str
    state: str
    attempts: int
    last_error: str
    result: dict | None


class TicketIn(Schema):
    integration: str = ""
    title: str = ""
    body: str | None = None
    labels: list[str] | None = None
    assignee: str | None = None
    # The same key never files a second ticket for this issue and tracker.
    key: str


class LinkIn(Schema):
    integration: str = ""
    ticket: str


class LinkOut(Schema):
    id: int
    provider: str
    integration: str | None
    external_id: str
    label: str
    url: str
    title: str
    state: str
    origin: str
    created_at: dt.datetime


class TicketsOut(Schema):
    links: list[LinkOut]
    requests: list[JobOut]


class RuleIn(Schema):
    query: str


class RuleOut(Schema):
    id: int
    query: str
    is_enabled: bool


class UsageOut(Schema):
    project: str
    tracker: str
    count: int


def _job(job: Job) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "result": job.result if isinstance(job.result, dict) else None,
    }


def _link(link: ExternalIssueLink) -> dict:
    return {
        "id": link.pk,
        "provider": link.provider,
        "integration": link.integration.name if link.integration else None,
        "external_id": link.external_id,
        "label": link.label,
        "url": link.url,
        "title": link.title,
        "state": link.state,
        "origin": link.origin,
        "created_at": link.created_at,
    }


def _integration(request: HttpRequest, org_slug: str, name: str, minimum: str):
    membership = membership_for(request.user, org_slug, minimum)
    return get_object_or_404(
        Integration.objects.select_related("project"),
        organization=membership.organization,
        name=check_slug(name),
    )


@router.get(
    "/organizations/{org_slug}/integrations",
    response=list[IntegrationOut],
    auth=scoped("org:read"),
)
def integration_list(request: HttpRequest, org_slug: str) -> list[dict]:
    """The organization's trackers (never their token or webhook secret)."""
    membership = membership_for(request.user, org_slug)
    integrations = Integration.objects.filter(
        organization=membership.organization
    ).select_related("project")
    return [connections.integration_row(i) for i in integrations.order_by("name")]


@router.post(
    "/organizations/{org_slug}/integrations",
    response={201: ConnectedOut},
    auth=scoped("org:write"),
)
def add_integration(request: HttpRequest, org_slug: str, body: IntegrationIn) -> Status:
    """Connect a tracker; the answer holds the webhook secret, once."""
    membership = membership_for(request.user, org_slug, Role.ADMIN)
    try:
        integration = connections.add_integration(
            membership.organization, body.kind, body.dict(), user=request.user
        )
    except connections.IntegrationError as exc:
        raise BadRequest(exc.message) from None
    connections.request_check(integration)
    row = connections.integration_row(integration)
    return Status(201, {**row, "webhook_secret": integration.webhook_secret})


@router.post(
    "/organizations/{org_slug}/integrations/{name}/test",
    response={202: JobOut},
    auth=scoped("org:write"),
)
def check_integration(request: HttpRequest, org_slug: str, name: str) -> Status:
    """Test the connection (a job); the tracker's ``last_check_error``
    says what is wrong once it ran."""
    integration = _integration(request, org_slug, name, Role.ADMIN)
    return Status(202, _job(connections.request_check(integration)))


@router.delete(
    "/organizations/{org_slug}/integrations/{name}",
    response={204: None},
    auth=scoped("org:write"),
)
def delete_integration(request: HttpRequest, org_slug: str, name: str) -> Status:
    """Disconnect a tracker and drop its links (the tickets stay)."""
    _integration(request, org_slug, name, Role.ADMIN).delete()
    return Status(204, None)


@router.get(
    "/organizations/{org_slug}/integrations/{name}/rules",
    response=list[RuleOut],
    auth=scoped("org:read"),
)
def rule_list(request: HttpRequest, org_slug: str, name: str) -> list:
    integration = _integration(request, org_slug, name, Role.VIEWER)
    return list(integration.rules.order_by("pk"))


@router.post(
    "/organizations/{org_slug}/integrations/{name}/rules",
    response={201: RuleOut},
    auth=scoped("org:write"),
)
def add_rule(request: HttpRequest, org_slug: str, name: str, body: RuleIn) -> Status:
    """File a ticket for each new issue matching ``query`` (search syntax)."""
    integration = _integration(request, org_slug, name, Role.ADMIN)
    form = RuleForm({"query": body.query})
    if not form.is_valid():
        raise BadRequest(first_error(form))
    rule = AutoTicketRule.objects.create(
        integration=integration,
        query=form.cleaned_data["query"],
        created_by=request.user,
    )
    return Status(201, rule)


@router.delete(
    "/organizations/{org_slug}/integrations/{name}/rules/{rule_id}",
    response={204: None},
    auth=scoped("org:write"),
)
def delete_rule(request: HttpRequest, org_slug: str, name: str, rule_id: str) -> Status:
    integration = _integration(request, org_slug, name, Role.ADMIN)
    get_object_or_404(
        AutoTicketRule, pk=parse_id(rule_id), integration=integration
    ).delete()
    return Status(204, None)


@router.get(
    "/organizations/{org_slug}/ticket-usage",
    response=list[UsageOut],
    auth=scoped("org:read"),
)
def ticket_usage(request: HttpRequest, org_slug: str) -> list[dict]:
    """Tickets filed from errors (by hand or by rule) per project and
    tracker."""
    membership = membership_for(request.user, org_slug)
    return tickets.tickets_created(membership.organization)


@router.get(
    "/issues/{issue_id}/tickets", response=TicketsOut, auth=scoped("event:read")
)
def ticket_list(request: HttpRequest, issue_id: str) -> dict:
    """The issue's linked tickets, and ticket requests waiting or failed."""
    issue, _ = issue_for(request.user, issue_id)
    links = (
        ExternalIssueLink.objects.filter(issue=issue)
        .select_related("integration")
        .order_by("created_at", "pk")
    )
    return {
        "links": [_link(link) for link in links],
        "requests": [_job(job) for job in tickets.ticket_requests(issue)],
    }


@router.post(
    "/issues/{issue_id}/tickets",
    response={202: JobOut},
    auth=scoped("event:write"),
)
def create_ticket(request: HttpRequest, issue_id: str, body: TicketIn) -> Status:
    """File a ticket (a job). Omitted fields take the prefilled draft's
    value; the same ``key`` answers the same job and files one ticket."""
    issue, _ = issue_for(request.user, issue_id, Role.MEMBER)
    if not 1 <= len(body.key) <= 64:
        raise BadRequest("key must be 1 to 64 characters.")
    try:
        integration = tickets.integration_for(issue, body.integration)
        draft = tickets.draft_ticket(issue, integration)
        if body.title:
            draft.title = body.title[:255]
        if body.body is not None:
            draft.body = body.body[:32_000]
        if body.labels is not None:
            draft.labels = [str(x)[:100] for x in body.labels[:20] if str(x).strip()]
        if body.assignee is not None:
            draft.assignee = body.assignee[:128]
        job = tickets.request_ticket(
            issue, integration, key=body.key, user=request.user, draft=draft
        )
    except tickets.TicketError as exc:
        raise BadRequest(exc.message) from None
    return Status(202, _job(job))


@router.post(
    "/issues/{issue_id}/tickets/link",
    response={201: LinkOut},
    auth=scoped("event:write"),
)
def link_ticket(request: HttpRequest, issue_id: str, body: LinkIn) -> Status:
    """Link an existing ticket by URL, number or key."""
    issue, _ = issue_for(request.user, issue_id, Role.MEMBER)
    try:
        integration = tickets.integration_for(issue, body.integration)
        link = tickets.link_ticket(
            issue, integration, body.ticket[:500], user=request.user
        )
    except tickets.TicketError as exc:
        raise BadRequest(exc.message) from None
    return Status(201, _link(link))


@router.delete(
    "/issues/{issue_id}/tickets/{link_id}",
    response={204: None},
    auth=scoped("event:write"),
)
def unlink_ticket(request: HttpRequest, issue_id: str, link_id: str) -> Status:
    """Unlink a ticket; it stays in its tracker."""
    issue, _ = issue_for(request.user, issue_id, Role.MEMBER)
    link = get_object_or_404(ExternalIssueLink, pk=parse_id(link_id), issue=issue)
    tickets.unlink_ticket(link)
    return Status(204, None)
