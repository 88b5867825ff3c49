"""Tickets from issues: what a ticket says, filing one (as a job), linking
an existing one, unlinking, and the count of tickets filed from errors.

Steps of filing a ticket:

1. ``draft_ticket`` prefills title, body, labels and assignee; people may
   edit them before sending;
2. ``request_ticket`` enqueues a job under an idempotency key, in the
   caller's transaction: the same key (a retried click, a re-run rule)
   makes no second job, so never a second ticket;
3. the job runner calls ``file_ticket``, which creates the ticket through
   the tracker's client and records the link with the ticket's state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from fixtrail.accounts.models import Organization, User
from fixtrail.events.storage import CorruptEventData
from fixtrail.integrations.base import Ticket
from fixtrail.integrations.models import ExternalIssueLink, Integration
from fixtrail.integrations.registry import tracker
from fixtrail.issues import display, overview
from fixtrail.issues.models import Issue
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import enqueue
from fixtrail.releases.overview import commit_link
from fixtrail.releases.suspects import suspect_commits

CREATE_JOB = "integrations.create_ticket"
REFRESH_JOB = "integrations.refresh_ticket"
# In-app frames quoted in a ticket: enough to see where it broke.
MAX_TICKET_FRAMES = 5
# Tickets one bulk action may request; more would flood a tracker.
MAX_BULK_TICKETS = 50


class TicketError(Exception):
    """A ticket request that cannot be carried out, with the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class TicketDraft:
    title: str
    body: str
    labels: list[str] = field(default_factory=list)
    assignee: str = ""


def integrations_for(issue: Issue) -> QuerySet[Integration]:
    """The integrations that may file tickets for ``issue``, by name."""
    return Integration.objects.filter(
        Q(project__isnull=True) | Q(project_id=issue.project_id),
        organization_id=issue.project.organization_id,
    ).order_by("name")


def integration_for(issue: Issue, name: str | None) -> Integration:
    """Return the integration called ``name``, or the only one there is.

    Raises TicketError when there is none, the name is unknown, or several
    could be meant.
    """
    choices = list(integrations_for(issue))
    if name:
        for integration in choices:
            if integration.name == name:
                return integration
        raise TicketError(f"No tracker named {name!r} for this issue's project.")
    if not choices:
        raise TicketError("No tracker is connected to this issue's project.")
    if len(choices) > 1:
        names = ", ".join(i.name for i in choices)
        raise TicketError(f"Choose a tracker: {names}.")
    return choices[0]


def issue_url(issue: Issue) -> str:
    return f"{settings.BASE_URL}{issue.get_absolute_url()}"


def event_url(issue: Issue, event_id: str) -> str:
    return f"{settings.BASE_URL}/issues/{issue.pk}/events/{event_id}/"


def compose_ticket_title(issue: Issue) -> str:
    """Return the title of a ticket for ``issue``: its short id and title."""
    return f"{issue.short_id_display}: {issue.title}"


def _top_frames(issue: Issue) -> list[display.Frame]:
    """The latest event's innermost in-app frames, innermost first (one
    query, and one read of the stored event)."""
    event = overview.latest_event(issue)
    if event is None:
        return []
    try:
        view = display.event_view(event.get_data())
    except CorruptEventData:
        return []
    stacks = [e.stacktrace for e in view.exceptions if e.stacktrace]
    if view.stacktrace:
        stacks.append(view.stacktrace)
    frames = [f for stack in stacks[-1:] for f in stack.frames if f.in_app]
    return list(reversed(frames))[:MAX_TICKET_FRAMES]


def _frame_line(frame: display.Frame) -> str:
    where = frame.filename or frame.module or "?"
    line = f":{frame.lineno}" if frame.lineno else ""
    return f"{where}{line} in {frame.function or '?'}"


def compose_ticket_body(issue: Issue) -> str:
    """Return the markdown body of a ticket for ``issue``.

    The one place a ticket's text is written; reads the latest event and
    the project (a few queries). Sections, in order: the error, the facts
    (counts, users, seen, releases), the top in-app frames, the link back.
    Then the suspect commits, each with the merge request that brought it.
    """
    lines = [f"**{issue.type or 'Error'}**: {issue.value or issue.title}", ""]
    if issue.culprit:
        lines += [f"Culprit: `{issue.culprit}`", ""]
    lines += [
        f"- Events: {issue.times_seen}",
        f"- Users affected: {issue.user_count}",
        f"- Level: {issue.level}",
        f"- First seen: {issue.first_seen:%Y-%m-%d %H:%M} UTC"
        + (f" in release {issue.first_release}" if issue.first_release else ""),
        f"- Last seen: {issue.last_seen:%Y-%m-%d %H:%M} UTC"
        + (f" in release {issue.last_release}" if issue.last_release else ""),
        "",
    ]
    frames = _top_frames(issue)
    if frames:
        lines += ["Top in-app frames:", "", "```"]
        lines += [_frame_line(frame) for frame in frames]
        lines += ["```", ""]
    lines += _suspect_lines(issue)
    lines.append(f"Fixtrail issue {issue.short_id_display}: {issue_url(issue)}")
    return "\n".join(lines)


def _suspect_lines(issue: Issue) -> list[str]:
    """The suspect commits and the merge requests that brought them in."""
    suspects = suspect_commits(issue, limit=3)
    if not suspects:
        return []
    lines = ["Suspect commits:", ""]
    for suspect in suspects:
        commit = suspect.commit
        # Commit messages are the team's own text, but a backtick in one
        # must not break out of the code span.
        subject = commit.message.split("\n", 1)[0].replace("`", "'")[:120]
        url = commit_link(commit)
        sha = f"`{commit.sha[:12]}`"
        line = f"- {f'[{sha}]({url})' if url else sha} {subject}"
        line += f" ({commit.author_name or commit.author_email}; {suspect.reason})"
        request = commit.merge_request
        if request is not None:
            line += f", introduced by [!{request.number}]({request.url})"
        lines.append(line)
    return [*lines, ""]


def draft_ticket(issue: Issue, integration: Integration) -> TicketDraft:
    """Return the prefilled ticket for ``issue`` in ``integration``."""
    return TicketDraft(
        title=compose_ticket_title(issue),
        body=compose_ticket_body(issue),
        labels=integration.label_list(),
        assignee=integration.assignee,
    )


def request_ticket(
    issue: Issue,
    integration: Integration,
    *,
    key: str,
    user: User | None,
    draft: TicketDraft | None = None,
    origin: str = ExternalIssueLink.Origin.CREATED,
) -> Job:
    """Enqueue filing a ticket for ``issue``; return the (possibly
    existing) job with ``key``. With no ``draft`` the job composes the
    ticket when it runs (auto-ticket rules)."""
    if not integration.covers(issue):
        raise TicketError("That tracker is not connected to this issue's project.")
    job_key = f"ticket:{issue.pk}:{integration.pk}:{key}"[:200]
    payload: dict = {
        "issue": issue.pk,
        "integration": integration.pk,
        "key": job_key,
        "user": user.pk if user else None,
        "origin": origin,
    }
    if draft is not None:
        if not draft.title.strip():
            raise TicketError("A ticket needs a title.")
        payload |= {
            "title": draft.title.strip(),
            "body": draft.body,
            "labels": draft.labels,
            "assignee": draft.assignee.strip(),
        }
    return enqueue(
        CREATE_JOB,
        payload,
        key=job_key,
        owner=f"issue:{issue.pk}",
    )


def ticket_requests(issue: Issue) -> QuerySet[Job]:
    """The issue's ticket jobs that are waiting or failed, newest first."""
    return (
        Job.objects.filter(owner=f"issue:{issue.pk}", kind=CREATE_JOB)
        .exclude(state=Job.State.DONE)
        .order_by("-pk")
    )


def _record_link(
    issue: Issue,
    integration: Integration,
    ticket: Ticket,
    *,
    origin: str,
    user_id: int | None,
) -> ExternalIssueLink:
    try:
        with transaction.atomic():
            link, _ = ExternalIssueLink.objects.get_or_create(
                issue=issue,
                integration=integration,
                external_id=ticket.external_id,
                defaults={
                    "provider": integration.kind,
                    "url": ticket.url,
                    "title": ticket.title[:500],
                    "origin": origin,
                    "state": ticket.state,
                    "state_at": ticket.updated_at,
                    "synced_at": timezone.now(),
                    "created_by_id": user_id,
                },
            )
    except IntegrityError:
        link = ExternalIssueLink.objects.get(
            issue=issue, integration=integration, external_id=ticket.external_id
        )
    return link


def request_marker(key: str) -> str:
    """Return the line that ends a ticket's body and names its request, so
    a retry can find a ticket an earlier try filed."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"Filed by Fixtrail (request {digest})"


def file_ticket(payload: dict) -> dict:
    """Create the ticket a job describes and link it; return its URL.

    Raises TrackerError from the client; Issue/Integration.DoesNotExist
    when either was deleted meanwhile.
    """
    issue = Issue.objects.select_related("project__organization").get(
        pk=payload["issue"]
    )
    integration = Integration.objects.get(pk=payload["integration"])
    if "title" in payload:
        draft = TicketDraft(
            payload["title"], payload["body"], payload["labels"], payload["assignee"]
        )
    else:
        draft = draft_ticket(issue, integration)
    client = tracker(integration.kind).client(integration)
    # An earlier try may have filed the ticket and lost the answer (a
    # timeout, a worker killed): the marker in the body finds it.
    marker = request_marker(payload["key"]) if payload.get("key") else ""
    ticket = client.find(marker) if marker else None
    if ticket is None:
        body = f"{draft.body}\n\n{marker}" if marker else draft.body
        ticket = client.create(draft.title, body, draft.labels, draft.assignee)
    link = _record_link(
        issue,
        integration,
        ticket,
        origin=payload.get("origin", ExternalIssueLink.Origin.CREATED),
        user_id=payload.get("user"),
    )
    return {"url": ticket.url, "link": link.pk, "ticket": link.label}


def link_ticket(
    issue: Issue, integration: Integration, reference: str, *, user: User | None
) -> ExternalIssueLink:
    """Link an existing ticket, given by number, key or URL, to ``issue``.

    No call to the tracker here (this runs in web requests): the link is
    recorded at once and a job reads the ticket's title and state.
    Raises TicketError for a reference of another project or a bad one.
    """
    if not integration.covers(issue):
        raise TicketError("That tracker is not connected to this issue's project.")
    kind = tracker(integration.kind)
    try:
        external_id = kind.parse_reference(reference, integration.target)
    except ValueError as exc:
        raise TicketError(str(exc)) from None
    url = kind.client(integration).web_url(external_id)
    with transaction.atomic():
        link, created = ExternalIssueLink.objects.get_or_create(
            issue=issue,
            integration=integration,
            external_id=external_id,
            defaults={
                "provider": integration.kind,
                "url": url,
                "origin": ExternalIssueLink.Origin.LINKED,
                "created_by": user,
            },
        )
        if not created:
            raise TicketError(f"{link.label} is already linked to this issue.")
        enqueue(
            REFRESH_JOB,
            {"link": link.pk},
            key=f"refresh:{link.pk}:linked",
            owner=f"integration:{integration.pk}",
        )
    return link


def refresh_link(link_id: int, now: dt.datetime) -> dict | None:
    """Read a linked ticket's title and state from its tracker.

    A first read only records the state; later reads that find the ticket
    newly closed resolve the issue (see sync.apply_change).
    """
    from fixtrail.integrations.sync import apply_change

    link = (
        ExternalIssueLink.objects.select_related("integration")
        .filter(pk=link_id, integration__isnull=False)
        .first()
    )
    if link is None:
        return None
    integration = link.integration
    ticket = tracker(integration.kind).client(integration).get(link.external_id)
    fields = {"synced_at": now, "url": ticket.url or link.url}
    if ticket.title:
        fields["title"] = ticket.title[:500]
    ExternalIssueLink.objects.filter(pk=link.pk).update(**fields)
    apply_change(integration, ticket_change(ticket, now), now=now, links=[link])
    return {"state": ticket.state}


def ticket_change(ticket: Ticket, now: dt.datetime):
    """A poll's reading of a ticket as a TicketChange (the tracker's time,
    or now when it gave none)."""
    from fixtrail.integrations.base import TicketChange

    return TicketChange(
        external_id=ticket.external_id,
        state=ticket.state,
        at=ticket.updated_at or now,
        url=ticket.url,
        title=ticket.title,
    )


def unlink_ticket(link: ExternalIssueLink) -> None:
    """Forget a link; the ticket itself stays as it is in its tracker."""
    link.delete()


def tickets_created(
    organization: Organization, since: dt.datetime | None = None
) -> list[dict]:
    """Count the tickets filed from errors (by hand or by rule), per project
    and tracker: ``[{"project": slug, "tracker": kind, "count": n}]``.

    Linked tickets and GitLab's error-tracking links are not counted: they
    were not created from an error here. One grouped query.
    """
    links = ExternalIssueLink.objects.filter(
        issue__project__organization=organization,
        origin__in=[ExternalIssueLink.Origin.CREATED, ExternalIssueLink.Origin.RULE],
    )
    if since is not None:
        links = links.filter(created_at__gte=since)
    rows = (
        links.values("issue__project__slug", "provider")
        .annotate(n=Count("id"))
        .order_by("issue__project__slug", "provider")
    )
    return [
        {
            "project": r["issue__project__slug"],
            "tracker": r["provider"],
            "count": r["n"],
        }
        for r in rows
    ]
