"""Ticket and issue states following each other.

Inbound (tracker → Fixtrail), from webhooks and polls: ``apply_change``
records a ticket's state when the tracker's timestamp is newer than the one
stored, so a replayed or late webhook changes nothing; a ticket newly
closed resolves its issue, with an activity naming the ticket.

Outbound (Fixtrail → tracker): ``follow_activity`` reads new Activity rows
with a cursor, and for each resolution or regression of a linked issue
enqueues a job (``push_state``) that comments on the ticket and closes or
reopens it. It also files tickets for new issues that match an
auto-ticket rule. Digest and the issue actions are not touched: they
already record those activities.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, F, OuterRef

from fixtrail.integrations.base import TicketChange
from fixtrail.integrations.connections import ACTIVITY_CURSOR
from fixtrail.integrations.models import (
    AutoTicketRule,
    ExternalIssueLink,
    Integration,
    SyncCursor,
)
from fixtrail.integrations.registry import tracker
from fixtrail.integrations.tickets import (
    REFRESH_JOB,
    event_url,
    issue_url,
    request_ticket,
)
from fixtrail.issues.actions import resolve_issues
from fixtrail.issues.models import Activity, Issue, Status
from fixtrail.issues.search import SearchError, filter_issues, parse_query
from fixtrail.jobs.runner import enqueue

logger = logging.getLogger(__name__)

PUSH_JOB = "integrations.push_state"
# Activity rows read per turn of the follower.
ACTIVITY_BATCH = 500
# Ids below the cursor read again each turn: on PostgreSQL a transaction
# that took a lower id can commit after one with a higher id, and such a
# row must not be skipped. Enqueueing is idempotent, so a second look costs
# only a lookup.
ACTIVITY_OVERLAP = 200
# Linked tickets polled per turn, least recently confirmed first.
POLL_BATCH = 50


def apply_change(
    integration: Integration,
    change: TicketChange,
    *,
    now: dt.datetime,
    links: Iterable[ExternalIssueLink] | None = None,
) -> int:
    """Record ``change`` on the links to that ticket; return how many
    issues it resolved.

    Each link is locked while it is compared and updated, so two
    deliveries of the same change never both act.
    """
    if links is None:
        links = ExternalIssueLink.objects.filter(
            integration=integration, external_id=change.external_id
        )
    resolved = 0
    for link in list(links):
        with transaction.atomic():
            current = (
                ExternalIssueLink.objects.select_for_update()
                .select_related("issue")
                .filter(pk=link.pk)
                .first()
            )
            if current is None:
                continue
            resolved += _apply_to_link(current, change, now)
    return resolved


def _apply_to_link(
    link: ExternalIssueLink, change: TicketChange, now: dt.datetime
) -> int:
    if link.state_at is not None and change.at <= link.state_at:
        # A replay or an older delivery: the stored state is newer.
        ExternalIssueLink.objects.filter(pk=link.pk).update(synced_at=now)
        return 0
    was_known = link.state != ExternalIssueLink.State.UNKNOWN
    newly_closed = change.state == "closed" and link.state != "closed" and was_known
    fields = {"state": change.state, "state_at": change.at, "synced_at": now}
    if change.title:
        fields["title"] = change.title[:500]
    ExternalIssueLink.objects.filter(pk=link.pk).update(**fields)
    issue = link.issue
    if not newly_closed or issue.status == Status.RESOLVED:
        return 0
    resolve_issues([issue], user=None, how="now", now=now)
    # The resolution's activity says which ticket closed it, and marks it
    # so the follower does not close that same ticket again.
    Activity.objects.filter(
        issue=issue, kind=Activity.Kind.RESOLVED, user=None, created_at=now
    ).update(
        data={
            "how": "now",
            "ticket": link.label,
            "ticket_url": link.url,
            "link": link.pk,
        }
    )
    return 1


# Outbound ------------------------------------------------------------------


def follow_activity(now: dt.datetime) -> int:
    """Enqueue the ticket work that new activities call for; return how
    many activities were read."""
    cursor, _ = SyncCursor.objects.get_or_create(name=ACTIVITY_CURSOR)
    linked = Exists(
        ExternalIssueLink.objects.filter(
            issue=OuterRef("issue_id"), integration__isnull=False
        )
    )
    rows = list(
        Activity.objects.filter(
            pk__gt=max(cursor.position - ACTIVITY_OVERLAP, 0),
            kind__in=[
                Activity.Kind.RESOLVED,
                Activity.Kind.REGRESSION,
                Activity.Kind.FIRST_SEEN,
            ],
        )
        .select_related("issue__project__organization")
        .order_by("pk")[:ACTIVITY_BATCH]
    )
    with_links = set(
        Activity.objects.filter(pk__in=[a.pk for a in rows])
        .filter(linked)
        .values_list("pk", flat=True)
    )
    rules = list(
        AutoTicketRule.objects.filter(is_enabled=True).select_related("integration")
    )
    for activity in rows:
        if activity.kind == Activity.Kind.FIRST_SEEN:
            if rules:
                _apply_rules(activity.issue, rules, now)
        elif activity.pk in with_links:
            _push_for(activity)
    if rows and rows[-1].pk > cursor.position:
        SyncCursor.objects.filter(name=ACTIVITY_CURSOR).update(position=rows[-1].pk)
    return len(rows)


def _push_for(activity: Activity) -> None:
    issue = activity.issue
    data = activity.data if isinstance(activity.data, dict) else {}
    close = activity.kind == Activity.Kind.RESOLVED
    if close:
        via = f" because {data['ticket']} was closed" if data.get("ticket") else ""
        comment = f"Resolved in Fixtrail{via}: {issue_url(issue)}"
    else:
        release = f" in release {data['release']}" if data.get("release") else ""
        link = (
            event_url(issue, data["event_id"])
            if data.get("event_id")
            else issue_url(issue)
        )
        comment = f"Regressed in Fixtrail: a new event arrived{release}: {link}"
    links = ExternalIssueLink.objects.filter(
        issue=issue,
        integration__isnull=False,
        created_at__lte=activity.created_at,
    )
    for link in links:
        if close and link.pk == data.get("link"):
            continue
        enqueue(
            PUSH_JOB,
            {"link": link.pk, "close": close, "comment": comment},
            key=f"push:{activity.pk}:{link.pk}",
            owner=f"integration:{link.integration_id}",
        )


def _apply_rules(issue: Issue, rules: list[AutoTicketRule], now: dt.datetime) -> None:
    for rule in rules:
        if not rule.integration.covers(issue):
            continue
        try:
            terms = parse_query(rule.query)
        except SearchError:
            # Checked when saved; a rule the grammar no longer accepts is
            # skipped rather than stopping every other rule.
            logger.warning("auto-ticket rule %s has a bad query", rule.pk)
            continue
        matches = filter_issues(
            Issue.objects.filter(pk=issue.pk), terms, user=None, now=now
        ).exists()
        if matches:
            request_ticket(
                issue,
                rule.integration,
                key=f"rule-{rule.pk}",
                user=None,
                origin=ExternalIssueLink.Origin.RULE,
            )


def push_state(payload: dict, now: dt.datetime) -> dict | None:
    """Comment on a linked ticket and close it (resolution) or reopen it
    (regression); record the ticket's state from the tracker's answer."""
    link = (
        ExternalIssueLink.objects.select_related("integration")
        .filter(pk=payload["link"])
        .first()
    )
    if link is None or link.integration is None:
        return None
    client = tracker(link.integration.kind).client(link.integration)
    close = bool(payload["close"])
    ticket = client.get(link.external_id)
    # A ticket someone already closed needs no "resolved" comment; a
    # regression is worth a comment even on a ticket still open.
    if not (close and ticket.state == "closed"):
        client.comment(link.external_id, payload["comment"])
    if (ticket.state == "closed") != close:
        ticket = client.set_closed(link.external_id, close)
    fields = {"state": ticket.state, "synced_at": now}
    if ticket.updated_at is not None:
        fields["state_at"] = ticket.updated_at
    ExternalIssueLink.objects.filter(pk=link.pk).update(**fields)
    return {"state": ticket.state}


def poll_links(now: dt.datetime) -> int:
    """Enqueue a read of the least recently confirmed linked tickets (the
    fallback for missed webhooks); return how many."""
    links = (
        ExternalIssueLink.objects.filter(integration__isnull=False)
        .order_by(F("synced_at").asc(nulls_first=True), "pk")
        .values_list("pk", "integration_id")[:POLL_BATCH]
    )
    stamp = int(now.timestamp())
    count = 0
    for pk, integration_id in links:
        enqueue(
            REFRESH_JOB,
            {"link": pk},
            key=f"refresh:{pk}:{stamp}",
            owner=f"integration:{integration_id}",
        )
        count += 1
    return count
