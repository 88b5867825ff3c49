"""Create, change and check alert rules: the one path for the pages, the
APIs and ``fixtrail alert``.

Actions are written as on the command line::

    members                      e-mail every member of the project's organization
    email:ops@example.com        e-mail one address
    webhook:https://hooks.example.com/fixtrail   signed JSON POST
    apprise:slack://T000/B000/XXXX               a chat service through apprise
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from fixtrail.alerts import triggers
from fixtrail.alerts.models import AlertAction, AlertRule
from fixtrail.issues.search import SearchError, parse_query
from fixtrail.projects.models import Project

DEFAULT_RULE_NAME = "New issues and regressions"
DEFAULT_COOLDOWN_MINUTES = 30
MAX_ACTIONS = 20
MAX_TARGET_CHARS = 2000
# Bytes of a webhook's signing key (hex-encoded: twice as many characters).
WEBHOOK_SECRET_BYTES = 32


class RuleError(ValueError):
    """A rule that cannot be saved; ``message`` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ActionSpec:
    kind: str
    target: str = ""


def parse_action(spec: str) -> ActionSpec:
    """Return the action written as ``spec``; raise RuleError if it is bad."""
    spec = spec.strip()
    if spec == AlertAction.Kind.MEMBERS:
        return ActionSpec(AlertAction.Kind.MEMBERS)
    kind, _, target = spec.partition(":")
    kind, target = kind.lower(), target.strip()
    if len(target) > MAX_TARGET_CHARS:
        raise RuleError(f"The {kind} target is too long.")
    if kind == AlertAction.Kind.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise RuleError(f"{target!r} is not an e-mail address.") from None
        return ActionSpec(kind, target.lower())
    if kind == AlertAction.Kind.WEBHOOK:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RuleError(f"A webhook needs an http(s) URL, not {target[:100]!r}.")
        return ActionSpec(kind, target)
    if kind == AlertAction.Kind.APPRISE:
        import apprise

        if not target or apprise.Apprise.instantiate(target) is None:
            raise RuleError(
                "apprise does not understand this URL; see "
                "https://github.com/caronc/apprise/wiki for each service's form."
            )
        return ActionSpec(kind, target)
    raise RuleError(
        f"Unknown action {spec[:60]!r}: use members, email:ADDRESS, "
        "webhook:URL or apprise:URL."
    )


def label_for(spec: ActionSpec) -> str:
    """Return what pages show of an action: an address, or a URL without
    its path and credentials (which often hold tokens)."""
    if spec.kind == AlertAction.Kind.EMAIL:
        return spec.target
    if spec.kind == AlertAction.Kind.MEMBERS:
        return "project members"
    parts = urlsplit(spec.target)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/…"


def check_filter(text: str) -> str:
    """Return the filter query stripped; raise RuleError if it is not valid
    search syntax or needs a person to mean something (``assigned:me``)."""
    text = text.strip()
    try:
        terms = parse_query(text)
    except SearchError as exc:
        raise RuleError(f"The filter is not valid: {exc.message}") from None
    for term in terms:
        values = (
            {str(v).lower() for v in term.value}
            if term.kind
            in (
                "is",
                "assigned",
            )
            else set()
        )
        if (term.kind == "assigned" and "me" in values) or (
            term.kind == "is" and "bookmarked" in values
        ):
            raise RuleError(
                "The filter is not valid: assigned:me and is:bookmarked depend "
                "on who looks; name the person (assigned:ops@example.com)."
            )
    return text


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RuleError("A rule needs a name.")
    if len(name) > 200:
        raise RuleError("A rule's name is at most 200 characters.")
    return name


def _check_cooldown(minutes: int) -> int:
    if not 0 <= minutes <= triggers.MAX_COOLDOWN_MINUTES:
        raise RuleError("A cool-down is between 0 minutes and 1 week.")
    return minutes


@dataclass
class SavedRule:
    rule: AlertRule
    # Secrets of the webhooks this save created, by action id: shown once.
    secrets: dict[int, str]


@transaction.atomic
def save_rule(
    project: Project,
    *,
    name: str,
    when: triggers.When,
    filter: str = "",
    cooldown_minutes: int = DEFAULT_COOLDOWN_MINUTES,
    add_actions: list[ActionSpec] = (),
    remove_action_ids: list[int] = (),
    replace_actions: bool = False,
    is_active: bool = True,
    user: object = None,
    rule: AlertRule | None = None,
) -> SavedRule:
    """Create a rule (``rule`` None) or change it, with its actions.

    ``replace_actions`` drops every existing action first (the APIs' PUT);
    otherwise ``remove_action_ids`` are dropped and ``add_actions`` added.
    Raises RuleError, with nothing saved, for any bad part.
    """
    try:
        triggers.check_when(when)
    except triggers.TriggerError as exc:
        raise RuleError(exc.message) from None
    fields = {
        "name": _check_name(name),
        "triggers": list(when.triggers),
        "threshold": when.threshold,
        "window_minutes": when.window_minutes,
        "filter": check_filter(filter),
        "cooldown_minutes": _check_cooldown(cooldown_minutes),
        "is_active": is_active,
    }
    if rule is None:
        rule = AlertRule.objects.create(project=project, created_by=user, **fields)
    else:
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.save(update_fields=list(fields))
    kept = rule.actions.all()
    if replace_actions:
        kept.delete()
    elif remove_action_ids:
        kept.filter(pk__in=list(remove_action_ids)).delete()
    if rule.actions.count() + len(add_actions) > MAX_ACTIONS:
        raise RuleError(f"A rule has at most {MAX_ACTIONS} actions.")
    created: dict[int, str] = {}
    for spec in add_actions:
        secret = ""
        if spec.kind == AlertAction.Kind.WEBHOOK:
            secret = secrets.token_hex(WEBHOOK_SECRET_BYTES)
        action = AlertAction.objects.create(
            rule=rule,
            kind=spec.kind,
            target=spec.target,
            label=label_for(spec),
            secret=secret,
        )
        if secret:
            created[action.pk] = secret
    if not rule.actions.exists():
        raise RuleError("A rule needs at least one action.")
    return SavedRule(rule, created)


def create_default_rule(project: Project) -> AlertRule:
    """Give ``project`` its default rule (new issues and regressions to the
    members by e-mail) unless it has one; return it."""
    existing = project.alert_rules.filter(is_default=True).first()
    if existing is not None:
        return existing
    saved = save_rule(
        project,
        name=DEFAULT_RULE_NAME,
        when=triggers.When((triggers.NEW, triggers.REGRESSION)),
        add_actions=[ActionSpec(AlertAction.Kind.MEMBERS)],
    )
    saved.rule.is_default = True
    saved.rule.save(update_fields=["is_default"])
    return saved.rule


def rule_when(rule: AlertRule) -> triggers.When:
    """Return the rule's triggers as a When."""
    return triggers.When(tuple(rule.triggers), rule.threshold, rule.window_minutes)
