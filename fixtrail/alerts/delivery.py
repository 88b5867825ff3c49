"""Fire alerts and deliver them.

``fire`` records an AlertNotice and, in the same transaction, one job per
action (per recipient for e-mail), so a delivery exists exactly when its
alert does. ``deliver`` is the job: it takes a slot of the destination's
hourly cap, then sends through fixtrail.alerts.channels.

Mutes are personal: they remove a person from the e-mails of the
``members`` action and of ``email:`` actions to that person's address.
Webhooks and chat channels belong to a team and are not muted by one
person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from fixtrail.accounts.models import Membership, Role, User
from fixtrail.alerts import channels
from fixtrail.alerts.messages import alert_context
from fixtrail.alerts.models import (
    AlertAction,
    AlertMute,
    AlertNotice,
    AlertRule,
    ChannelHour,
    channel_key,
)
from fixtrail.issues.models import Issue
from fixtrail.jobs import runner
from fixtrail.jobs.registry import PermanentFailure, RetryLater
from fixtrail.projects.models import Project

DELIVER = "alerts.deliver"


def hourly_cap() -> int:
    """Return the messages one destination may get per hour
    (FIXTRAIL_ALERTS_HOURLY_CAP)."""
    return settings.ALERTS_HOURLY_CAP


def is_cooling(rule: AlertRule, issue_id: int, now: dt.datetime) -> bool:
    """Return True when ``rule`` alerted about the issue within its cool-down."""
    if rule.cooldown_minutes == 0:
        return False
    since = now - dt.timedelta(minutes=rule.cooldown_minutes)
    return AlertNotice.objects.filter(
        rule=rule, issue_id=issue_id, created_at__gt=since
    ).exists()


def cooling_issues(rule: AlertRule, issue_ids: set[int], now: dt.datetime) -> set[int]:
    """Return which of ``issue_ids`` the rule is cooling down for (one
    query, for the evaluator to skip them before ``fire`` checks each)."""
    if rule.cooldown_minutes == 0 or not issue_ids:
        return set()
    since = now - dt.timedelta(minutes=rule.cooldown_minutes)
    return set(
        AlertNotice.objects.filter(
            rule=rule, issue_id__in=issue_ids, created_at__gt=since
        ).values_list("issue_id", flat=True)
    )


def muted_users(user_ids: list[int], issue: Issue) -> set[int]:
    """Return which of ``user_ids`` muted this issue, its project or all."""
    return set(
        AlertMute.objects.filter(user_id__in=user_ids)
        .filter(
            Q(issue=issue)
            | Q(project_id=issue.project_id, issue=None)
            | Q(project=None, issue=None)
        )
        .values_list("user_id", flat=True)
    )


def project_members(project: Project) -> list[tuple[int, str]]:
    """Return (user id, e-mail) of the people a project's alerts reach: the
    members of the teams that have the project, or every member of the
    organization when no team has it yet."""
    members = Membership.objects.filter(
        organization_id=project.organization_id, user__is_active=True
    )
    if project.teams.exists():
        members = members.filter(user__teams__projects=project).distinct()
    return list(members.values_list("user_id", "user__email"))


def email_recipients(action: AlertAction, issue: Issue) -> list[str]:
    """Return the addresses an e-mail action reaches for ``issue``, muted
    people left out."""
    if action.kind == AlertAction.Kind.MEMBERS:
        people = project_members(issue.project)
    else:
        people = list(
            User.objects.filter(email__iexact=action.target).values_list("pk", "email")
        ) or [(None, action.target)]
    muted = muted_users([pk for pk, _ in people if pk], issue)
    return sorted({email for pk, email in people if pk is None or pk not in muted})


def _enqueue(rule: AlertRule, key: str, payload: dict) -> None:
    runner.enqueue(DELIVER, payload, key=key, owner=rule.job_owner)


def fire(
    rule: AlertRule,
    issue: Issue,
    trigger: str,
    *,
    source: str = "",
    data: dict | None = None,
    now: dt.datetime,
    cooldown_checked: bool = False,
) -> AlertNotice | None:
    """Record that ``rule`` fired about ``issue`` and queue its deliveries.

    Returns None (and does nothing) when the rule is cooling down for the
    issue (unless the caller just checked, see ``cooling_issues``) or
    already fired for ``source``.
    """
    if not cooldown_checked and is_cooling(rule, issue.pk, now):
        return None
    try:
        with transaction.atomic():
            notice = AlertNotice.objects.create(
                rule=rule,
                issue=issue,
                trigger=trigger,
                source=source,
                data=data or {},
                created_at=now,
            )
            for action in rule.actions.all():
                base = {"notice": notice.pk, "action": action.pk}
                key = f"alerts:{notice.pk}:{action.pk}"
                if action.kind in (AlertAction.Kind.MEMBERS, AlertAction.Kind.EMAIL):
                    for address in email_recipients(action, issue):
                        _enqueue(rule, f"{key}:{address}", {**base, "to": address})
                else:
                    _enqueue(rule, key, base)
    except IntegrityError:
        # Another evaluation recorded this source first.
        return None
    return notice


def queue_test(rule: AlertRule) -> int:
    """Queue a sample message through every action of ``rule`` (e-mail
    actions to their first recipient only); return how many were queued."""
    count = 0
    stamp = timezone.now().isoformat()
    for action in rule.actions.all():
        payload = {"test": True, "rule": rule.pk, "action": action.pk}
        if action.kind == AlertAction.Kind.MEMBERS:
            payload["to"] = "members"
        _enqueue(rule, f"alerts:test:{action.pk}:{stamp}", payload)
        count += 1
    return count


def take_slot(destination: str, kind: str, now: dt.datetime) -> bool:
    """Count one message to ``destination`` this hour; return False (and
    count it dropped) when the hourly cap is reached."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    key = channel_key(kind, destination)
    ChannelHour.objects.get_or_create(channel=key, hour=hour)
    taken = ChannelHour.objects.filter(
        channel=key, hour=hour, sent__lt=hourly_cap()
    ).update(sent=F("sent") + 1)
    if taken:
        return True
    ChannelHour.objects.filter(channel=key, hour=hour).update(dropped=F("dropped") + 1)
    return False


def send(action: AlertAction, ctx: dict[str, Any], to: str = "") -> dict:
    """Send ``ctx`` through ``action`` now; return what happened. Raises
    ChannelError."""
    if action.kind in (AlertAction.Kind.MEMBERS, AlertAction.Kind.EMAIL):
        channels.send_email(to or action.target, "alert", ctx)
        return {"sent": "email", "to": to or action.target}
    if action.kind == AlertAction.Kind.WEBHOOK:
        status = channels.send_webhook(action.target, action.secret, ctx)
        return {"sent": "webhook", "status": status}
    channels.send_apprise(action.target, ctx)
    return {"sent": "apprise"}


def test_recipient(action: AlertAction, rule: AlertRule) -> str:
    """Return who a test of an e-mail action goes to: its address, or for
    ``members`` the rule's author or else the organization's first owner."""
    if action.kind == AlertAction.Kind.EMAIL:
        return action.target
    if rule.created_by is not None:
        return rule.created_by.email
    member = (
        Membership.objects.filter(
            organization_id=rule.project.organization_id, role=Role.OWNER
        )
        .order_by("pk")
        .select_related("user")
        .first()
    )
    return member.user.email if member else ""


def sample_issue(rule: AlertRule) -> Issue | None:
    """Return the project's most recent issue for a test message, if any."""
    return rule.project.issues.order_by("-last_seen").first()


def deliver(payload: dict) -> dict:
    """Job handler: send one delivery of an alert (or of a test)."""
    action = (
        AlertAction.objects.select_related("rule__project__organization")
        .filter(pk=payload.get("action"))
        .first()
    )
    if action is None:
        return {"skipped": "the rule or action was deleted"}
    rule = action.rule
    if payload.get("test"):
        to = payload.get("to", "")
        if to == "members":
            to = test_recipient(action, rule)
        ctx = alert_context(sample_issue(rule), "test", {}, rule, test=True)
        return _send_or_raise(action, ctx, to)
    notice = (
        AlertNotice.objects.select_related("issue__project__organization")
        .filter(pk=payload.get("notice"))
        .first()
    )
    if notice is None:
        return {"skipped": "the issue was deleted"}
    to = payload.get("to", "")
    destination = to or action.target
    if not take_slot(destination, action.kind, timezone.now()):
        return {"dropped": f"hourly cap of {hourly_cap()} messages reached"}
    ctx = alert_context(notice.issue, notice.trigger, notice.data, rule)
    return _send_or_raise(action, ctx, to)


def _send_or_raise(action: AlertAction, ctx: dict, to: str) -> dict:
    try:
        return send(action, ctx, to)
    except channels.ChannelError as exc:
        if exc.permanent:
            raise PermanentFailure(exc.message) from None
        raise RetryLater(exc.message) from None


def rule_health(rule: AlertRule) -> dict:
    """Return the state of the rule's deliveries for its page and the APIs:
    how many failed for good, how many wait for a retry, and the latest
    error (one query)."""
    from fixtrail.jobs.models import Job

    failed = retrying = 0
    last_error, last_error_at = "", None
    rows = (
        Job.objects.filter(owner=rule.job_owner)
        .exclude(last_error="")
        .exclude(state=Job.State.DONE)
        .order_by("-run_after")
        .values_list("state", "last_error", "run_after")
    )
    for state, error, at in rows:
        if state == Job.State.FAILED:
            failed += 1
        else:
            retrying += 1
        if not last_error:
            last_error, last_error_at = error, at
    return {
        "failed": failed,
        "retrying": retrying,
        "last_error": last_error or None,
        "last_error_at": last_error_at,
    }
