"""Alert rules, mutes and digest preferences in Fixtrail's own API.

Members and above manage a project's rules; viewers read them. A rule is
written as ``fixtrail alert add`` takes it::

    {"name": "Production errors", "when": ["new", "frequency:100/10m"],
     "filter": "environment:production", "cooldown_minutes": 30,
     "actions": ["members", "webhook:https://hooks.example.com/x"]}

A webhook's signing secret is answered once, when the action is created.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from fixtrail.accounts.models import Role
from fixtrail.alerts import triggers
from fixtrail.alerts.delivery import queue_test, rule_health
from fixtrail.alerts.digests import set_digest
from fixtrail.alerts.models import AlertMute, AlertPreference, AlertRule
from fixtrail.alerts.mutes import MuteError, mute
from fixtrail.alerts.rules import RuleError, parse_action, rule_when, save_rule
from fixtrail.api.access import issue_for, parse_id, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest

router = Router(tags=["alerts"])


class ActionOut(Schema):
    id: int
    kind: str
    label: str
    # Only in the answer that created the webhook.
    secret: str | None = None


class HealthOut(Schema):
    failed: int
    retrying: int
    last_error: str | None
    last_error_at: dt.datetime | None


class RuleOut(Schema):
    id: int
    name: str
    when: list[str]
    filter: str
    cooldown_minutes: int
    is_active: bool
    is_default: bool
    actions: list[ActionOut]
    deliveries: HealthOut
    created_at: dt.datetime


class RuleIn(Schema):
    name: str
    when: list[str]
    filter: str = ""
    cooldown_minutes: int = 30
    is_active: bool = True
    actions: list[str]


class MuteIn(Schema):
    # One of: an issue id, a project as "org/project", or neither (all).
    issue: int | None = None
    project: str | None = None


class MuteOut(Schema):
    id: int
    scope: str
    issue: int | None
    project: str | None
    created_at: dt.datetime


class PreferenceIO(Schema):
    digest: str


def rule_out(rule: AlertRule, secrets: dict[int, str] | None = None) -> dict:
    """Return a rule's answer (two queries: actions, deliveries)."""
    secrets = secrets or {}
    return {
        "id": rule.pk,
        "name": rule.name,
        "when": triggers.format_when(rule_when(rule)),
        "filter": rule.filter,
        "cooldown_minutes": rule.cooldown_minutes,
        "is_active": rule.is_active,
        "is_default": rule.is_default,
        "actions": [
            {"id": a.pk, "kind": a.kind, "label": a.label, "secret": secrets.get(a.pk)}
            for a in rule.actions.order_by("pk")
        ],
        "deliveries": rule_health(rule),
        "created_at": rule.created_at,
    }


def _save(project, body: RuleIn, user, rule: AlertRule | None = None):
    try:
        return save_rule(
            project,
            name=body.name,
            when=triggers.parse_when(body.when),
            filter=body.filter,
            cooldown_minutes=body.cooldown_minutes,
            is_active=body.is_active,
            add_actions=[parse_action(spec) for spec in body.actions],
            replace_actions=True,
            user=user,
            rule=rule,
        )
    except (triggers.TriggerError, RuleError) as exc:
        raise BadRequest(exc.message) from None


RULES = "/projects/{org_slug}/{project_slug}/alert-rules"


@router.get(RULES, response=list[RuleOut], auth=scoped("project:read"))
def rules(request: HttpRequest, org_slug: str, project_slug: str) -> list[dict]:
    """The project's alert rules with the state of their deliveries."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return [rule_out(rule) for rule in project.alert_rules.order_by("pk")]


@router.post(RULES, response={201: RuleOut}, auth=scoped("project:write"))
def create_rule(
    request: HttpRequest, org_slug: str, project_slug: str, body: RuleIn
) -> Status:
    """Add a rule (members); a bad trigger, filter or action is a 400."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    saved = _save(project, body, request.user)
    return Status(201, rule_out(saved.rule, saved.secrets))


def _rule(project, rule_id: str) -> AlertRule:
    return get_object_or_404(project.alert_rules, pk=parse_id(rule_id))


@router.get(RULES + "/{rule_id}", response=RuleOut, auth=scoped("project:read"))
def rule(request: HttpRequest, org_slug: str, project_slug: str, rule_id: str) -> dict:
    """One rule with the state of its deliveries."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return rule_out(_rule(project, rule_id))


@router.put(RULES + "/{rule_id}", response=RuleOut, auth=scoped("project:write"))
def update_rule(
    request: HttpRequest, org_slug: str, project_slug: str, rule_id: str, body: RuleIn
) -> dict:
    """Replace a rule, actions included (new webhooks get new secrets)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    saved = _save(project, body, request.user, _rule(project, rule_id))
    return rule_out(saved.rule, saved.secrets)


@router.delete(RULES + "/{rule_id}", response={204: None}, auth=scoped("project:write"))
def delete_rule(
    request: HttpRequest, org_slug: str, project_slug: str, rule_id: str
) -> Status:
    """Delete a rule (members)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    _rule(project, rule_id).delete()
    return Status(204, None)


class QueuedOut(Schema):
    queued: int


@router.post(
    RULES + "/{rule_id}/test", response={202: QueuedOut}, auth=scoped("project:write")
)
def test_rule(
    request: HttpRequest, org_slug: str, project_slug: str, rule_id: str
) -> Status:
    """Queue a sample message through every action of the rule."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    with transaction.atomic():
        queued = queue_test(_rule(project, rule_id))
    return Status(202, {"queued": queued})


def mute_out(item: AlertMute) -> dict:
    """Return a mute's answer (reads its project, selected by callers)."""
    project = item.project
    return {
        "id": item.pk,
        "scope": item.scope,
        "issue": item.issue_id,
        "project": f"{project.organization.slug}/{project.slug}" if project else None,
        "created_at": item.created_at,
    }


@router.get("/alert-mutes", response=list[MuteOut], auth=scoped("org:read"))
def mutes(request: HttpRequest) -> list[dict]:
    """The token user's mutes."""
    rows = AlertMute.objects.filter(user=request.user).select_related(
        "project__organization"
    )
    return [mute_out(m) for m in rows.order_by("pk")]


@router.post("/alert-mutes", response={201: MuteOut}, auth=scoped("org:read"))
def create_mute(request: HttpRequest, body: MuteIn) -> Status:
    """Mute alert e-mails about an issue, a project, or all (neither given)."""
    issue = project = None
    if body.issue is not None:
        issue, _ = issue_for(request.user, str(body.issue))
    elif body.project is not None:
        org_slug, _, project_slug = body.project.partition("/")
        project, _ = project_for(request.user, org_slug, project_slug)
    try:
        item = mute(request.user, issue=issue, project=project)
    except MuteError as exc:
        raise BadRequest(exc.message) from None
    return Status(201, mute_out(item))


@router.delete("/alert-mutes/{mute_id}", response={204: None}, auth=scoped("org:read"))
def delete_mute(request: HttpRequest, mute_id: str) -> Status:
    """Remove one of the token user's mutes."""
    get_object_or_404(
        AlertMute.objects.filter(user=request.user), pk=parse_id(mute_id)
    ).delete()
    return Status(204, None)


@router.get("/alert-preferences", response=PreferenceIO, auth=scoped("org:read"))
def preferences(request: HttpRequest) -> dict:
    """The token user's digest e-mail choice."""
    pref = AlertPreference.objects.filter(user=request.user).first()
    return {"digest": pref.digest if pref else AlertPreference.Digest.OFF}


@router.put("/alert-preferences", response=PreferenceIO, auth=scoped("org:read"))
def update_preferences(request: HttpRequest, body: PreferenceIO) -> dict:
    """Choose the digest e-mail: off, daily or weekly."""
    if body.digest not in AlertPreference.Digest.values:
        raise BadRequest("digest must be off, daily or weekly.")
    return {"digest": set_digest(request.user, body.digest).digest}
