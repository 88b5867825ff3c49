"""The tickets panel of the issue page, and the trackers of the list's bulk
"Create tickets" action, as tags so the issues app's views need no change."""

from __future__ import annotations

import secrets

from django import template

from fixtrail.integrations import tickets
from fixtrail.integrations.models import ExternalIssueLink, Integration
from fixtrail.issues.models import Issue

register = template.Library()


def panel_context(issue: Issue, can_act: bool) -> dict:
    """What the tickets panel shows: links, waiting or failed requests, and
    the prefilled create form (a few queries; the draft reads the latest
    event)."""
    integrations = list(tickets.integrations_for(issue))
    links = (
        ExternalIssueLink.objects.filter(issue=issue)
        .select_related("integration")
        .order_by("created_at", "pk")
    )
    requests = list(tickets.ticket_requests(issue))
    draft = None
    if can_act and integrations:
        draft = tickets.draft_ticket(issue, integrations[0])
    return {
        "issue": issue,
        "can_act": can_act,
        "links": links,
        "requests": requests,
        "waiting": any(r.state != r.State.FAILED for r in requests),
        "integrations": integrations,
        "draft": draft,
        "draft_labels": ", ".join(draft.labels) if draft else "",
        # A fresh key each time the form is shown; resubmitting the same
        # form reuses it (see TicketForm.request_key).
        "request_key": secrets.token_urlsafe(12),
    }


@register.inclusion_tag("integrations/_tickets.html", takes_context=True)
def ticket_panel(context: template.Context) -> dict:
    """Render the issue's tickets panel."""
    ctx = panel_context(context["issue"], bool(context.get("can_act")))
    ctx["csrf_token"] = context.get("csrf_token")
    return ctx


@register.simple_tag
def ticket_trackers(organization: object, project: object = None) -> list[Integration]:
    """The trackers a bulk "Create tickets" may use on this list."""
    integrations = Integration.objects.filter(organization=organization)
    if project is not None:
        integrations = integrations.filter(project__isnull=True) | integrations.filter(
            project=project
        )
    return list(integrations.order_by("name"))


@register.simple_tag
def new_request_key() -> str:
    """A fresh idempotency key for a form."""
    return secrets.token_urlsafe(12)
