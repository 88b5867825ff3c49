"""Issue alert rules in Sentry's shape (``/api/0/projects/{org}/{project}/rules/``).

Sentry's rule JSON maps onto Fixtrail's rules as far as Fixtrail supports
it (https://docs.sentry.io/api/alerts/create-an-issue-alert-rule-for-a-project/)::

    {"name": "New issues", "actionMatch": "any", "filterMatch": "all",
     "frequency": 30,
     "conditions": [
         {"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}],
     "filters": [{"id": "sentry.rules.filters.tagged_event.TaggedEventFilter",
                  "key": "browser", "match": "eq", "value": "Chrome"}],
     "environment": "production",
     "actions": [{"id": "sentry.mail.actions.NotifyEmailAction",
                  "targetType": "IssueOwners", "fallthroughType": "AllMembers"}]}

- conditions: first seen, regression, reappeared (escalating), event
  frequency (count; ``comparisonType: percent`` against ``1w`` is a
  spike of value/100 + 1 times), unique-user frequency; Fixtrail's own
  ``fixtrail.rules.conditions.NewRelease``/``NewEnvironment``;
- filters: tagged event (eq, ne), level (eq); ``fixtrailFilter`` carries
  any Fixtrail search query besides;
- actions: e-mail to the issue owners/team (the project's members) or to a
  member (``targetType: Member``, ``targetIdentifier``: user id); Fixtrail's
  own ``fixtrail.actions.Webhook`` and ``fixtrail.actions.Apprise`` with a
  ``url``. Conditions are any-of (``actionMatch: any``) and filters all-of.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Body, Router, Status

from fixtrail.accounts.models import Role, User
from fixtrail.alerts import triggers
from fixtrail.alerts.models import AlertAction, AlertRule
from fixtrail.alerts.rules import ActionSpec, RuleError, parse_action, save_rule
from fixtrail.api.access import parse_id, project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import page_rows
from fixtrail.issues.search import SearchError, parse_query, quote_term

router = Router(tags=["alert rules"])

RULES = "/projects/{org_slug}/{project_slug}/rules/"

_C = "sentry.rules.conditions."
FIRST_SEEN = _C + "first_seen_event.FirstSeenEventCondition"
REGRESSION = _C + "regression_event.RegressionEventCondition"
REAPPEARED = _C + "reappeared_event.ReappearedEventCondition"
FREQUENCY = _C + "event_frequency.EventFrequencyCondition"
UNIQUE_USERS = _C + "event_frequency.EventUniqueUserFrequencyCondition"
NEW_RELEASE = "fixtrail.rules.conditions.NewRelease"
NEW_ENVIRONMENT = "fixtrail.rules.conditions.NewEnvironment"
SIMPLE_CONDITIONS = {
    triggers.NEW: FIRST_SEEN,
    triggers.REGRESSION: REGRESSION,
    triggers.ESCALATING: REAPPEARED,
    triggers.NEW_RELEASE: NEW_RELEASE,
    triggers.NEW_ENVIRONMENT: NEW_ENVIRONMENT,
}
TAGGED = "sentry.rules.filters.tagged_event.TaggedEventFilter"
LEVEL = "sentry.rules.filters.level.LevelFilter"
# Sentry's numeric log levels.
LEVELS = {"debug": "10", "info": "20", "warning": "30", "error": "40", "fatal": "50"}
EMAIL = "sentry.mail.actions.NotifyEmailAction"
WEBHOOK = "fixtrail.actions.Webhook"
APPRISE = "fixtrail.actions.Apprise"


def _conditions(rule: AlertRule) -> list[dict]:
    out = []
    for trigger in rule.triggers:
        if trigger in SIMPLE_CONDITIONS:
            out.append({"id": SIMPLE_CONDITIONS[trigger]})
        elif trigger == triggers.SPIKE:
            out.append(
                {
                    "id": FREQUENCY,
                    "comparisonType": "percent",
                    "value": (rule.threshold - 1) * 100,
                    "interval": "1h",
                    "comparisonInterval": "1w",
                }
            )
        else:
            out.append(
                {
                    "id": FREQUENCY if trigger == triggers.FREQUENCY else UNIQUE_USERS,
                    "comparisonType": "count",
                    "value": rule.threshold,
                    "interval": triggers.format_duration(rule.window_minutes),
                }
            )
    return out


def _filters(rule: AlertRule) -> tuple[list[dict], str | None]:
    """Return the rule's filter as Sentry filters and its environment."""
    filters: list[dict] = []
    environment = None
    try:
        terms = parse_query(rule.filter)
    except SearchError:
        return [], None
    for term in terms:
        single = isinstance(term.value, tuple) and len(term.value) == 1
        if not single:
            continue
        value = term.value[0]
        if term.kind == "environment" and not term.negated and environment is None:
            environment = value
        elif term.kind in ("tag", "release", "environment"):
            key = term.name if term.kind == "tag" else term.kind
            match = "ne" if term.negated else "eq"
            filters.append({"id": TAGGED, "key": key, "match": match, "value": value})
        elif term.kind == "level" and not term.negated and value.lower() in LEVELS:
            filters.append({"id": LEVEL, "match": "eq", "level": LEVELS[value.lower()]})
    return filters, environment


def _actions(rule: AlertRule, members: dict[str, int]) -> list[dict]:
    out = []
    for action in rule.actions.order_by("pk"):
        if action.kind == AlertAction.Kind.MEMBERS:
            out.append(
                {
                    "id": EMAIL,
                    "targetType": "IssueOwners",
                    "fallthroughType": "AllMembers",
                }
            )
        elif action.kind == AlertAction.Kind.EMAIL and action.target in members:
            out.append(
                {
                    "id": EMAIL,
                    "targetType": "Member",
                    "targetIdentifier": members[action.target],
                }
            )
        elif action.kind == AlertAction.Kind.EMAIL:
            out.append({"id": EMAIL, "targetType": "Email", "address": action.target})
        else:
            out.append(
                {
                    "id": WEBHOOK
                    if action.kind == AlertAction.Kind.WEBHOOK
                    else APPRISE,
                    "url": action.label,
                }
            )
    return out


def rule_payload(rule: AlertRule) -> dict:
    """Return a rule in Sentry's shape."""
    project = rule.project
    members = {
        email.lower(): pk
        for pk, email in User.objects.filter(
            memberships__organization_id=project.organization_id
        ).values_list("pk", "email")
    }
    filters, environment = _filters(rule)
    creator = rule.created_by
    return {
        "id": str(rule.pk),
        "name": rule.name,
        "conditions": _conditions(rule),
        "filters": filters,
        "actions": _actions(rule, members),
        "actionMatch": "any",
        "filterMatch": "all",
        "frequency": rule.cooldown_minutes,
        "environment": environment,
        "fixtrailFilter": rule.filter,
        "dateCreated": rule.created_at.isoformat().replace("+00:00", "Z"),
        "owner": None,
        "createdBy": (
            {"id": creator.pk, "name": creator.display_name, "email": creator.email}
            if creator
            else None
        ),
        "projects": [project.slug],
        "status": "active" if rule.is_active else "disabled",
        "snooze": False,
    }


def _when(conditions: list[dict], action_match: str) -> triggers.When:
    if not isinstance(conditions, list) or not conditions:
        raise BadRequest("conditions: give at least one condition.")
    if action_match not in ("any", "all") or (
        action_match == "all" and len(conditions) > 1
    ):
        raise BadRequest(
            "actionMatch: Fixtrail rules fire when any of their conditions "
            'is met; use "any".'
        )
    reverse = {v: k for k, v in SIMPLE_CONDITIONS.items()}
    specs = []
    for condition in conditions:
        cid = condition.get("id") if isinstance(condition, dict) else None
        if cid in reverse:
            specs.append(reverse[cid])
        elif cid in (FREQUENCY, UNIQUE_USERS):
            value = condition.get("value")
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise BadRequest("conditions: value must be a number.") from None
            if condition.get("comparisonType") == "percent":
                if cid != FREQUENCY or value % 100:
                    raise BadRequest(
                        "conditions: a percent comparison must be a multiple "
                        "of 100 of the event frequency (a spike)."
                    )
                specs.append(f"spike:{value // 100 + 1}")
            else:
                name = "frequency" if cid == FREQUENCY else "users"
                specs.append(f"{name}:{value}/{condition.get('interval', '1h')}")
        else:
            raise BadRequest(f"conditions: Fixtrail does not support {cid!r}.")
    try:
        return triggers.parse_when(specs)
    except triggers.TriggerError as exc:
        raise BadRequest(f"conditions: {exc.message}") from None


def _query(body: dict) -> str:
    parts = []
    if body.get("environment"):
        parts.append(quote_term("environment", str(body["environment"])))
    filters = body.get("filters") or []
    if body.get("filterMatch", "all") not in ("all",) and len(filters) > 1:
        raise BadRequest('filterMatch: Fixtrail filters must all match; use "all".')
    for item in filters:
        fid = item.get("id") if isinstance(item, dict) else None
        if fid == TAGGED and item.get("match") in ("eq", "ne"):
            term = quote_term(str(item.get("key", "")), str(item.get("value", "")))
            parts.append(("!" if item["match"] == "ne" else "") + term)
        elif fid == LEVEL and item.get("match") == "eq":
            names = {v: k for k, v in LEVELS.items()}
            level = names.get(str(item.get("level")))
            if level is None:
                raise BadRequest("filters: unknown level.")
            parts.append(f"level:{level}")
        else:
            raise BadRequest(f"filters: Fixtrail does not support {fid!r} this way.")
    if body.get("fixtrailFilter"):
        parts.append(str(body["fixtrailFilter"]))
    return " ".join(parts)


def _action_specs(actions: list, project) -> list[ActionSpec]:
    if not isinstance(actions, list) or not actions:
        raise BadRequest("actions: give at least one action.")
    specs = []
    for action in actions:
        aid = action.get("id") if isinstance(action, dict) else None
        try:
            if aid == EMAIL and action.get("targetType") == "Member":
                user = User.objects.filter(
                    pk=int(action.get("targetIdentifier") or 0),
                    memberships__organization_id=project.organization_id,
                ).first()
                if user is None:
                    raise BadRequest("actions: no such member.")
                specs.append(parse_action(f"email:{user.email}"))
            elif aid == EMAIL and action.get("targetType") == "Email":
                specs.append(parse_action(f"email:{action.get('address', '')}"))
            elif aid == EMAIL:
                specs.append(parse_action("members"))
            elif aid in (WEBHOOK, APPRISE):
                kind = "webhook" if aid == WEBHOOK else "apprise"
                specs.append(parse_action(f"{kind}:{action.get('url', '')}"))
            else:
                raise BadRequest(f"actions: Fixtrail does not support {aid!r}.")
        except (RuleError, ValueError) as exc:
            if isinstance(exc, BadRequest):
                raise
            raise BadRequest(f"actions: {getattr(exc, 'message', exc)}") from None
    return specs


def _save(project, body: dict[str, Any], user, rule: AlertRule | None = None):
    when = _when(body.get("conditions"), body.get("actionMatch", "any"))
    try:
        frequency = int(body.get("frequency", 30))
    except (TypeError, ValueError):
        raise BadRequest("frequency: minutes between alerts, a number.") from None
    try:
        saved = save_rule(
            project,
            name=str(body.get("name", "")),
            when=when,
            filter=_query(body),
            cooldown_minutes=frequency,
            add_actions=_action_specs(body.get("actions"), project),
            replace_actions=True,
            is_active=body.get("status", "active") != "disabled",
            user=user,
            rule=rule,
        )
    except RuleError as exc:
        raise BadRequest(exc.message) from None
    return saved.rule


@router.get(RULES, auth=scoped("project:read"))
def rules(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List a project's issue alert rules (Sentry's Link-header pages)."""
    project, _ = project_for(request.user, org_slug, project_slug)
    rows = project.alert_rules.select_related("created_by").order_by("pk")
    page = page_rows(request, response, rows)
    for rule in page:
        rule.project = project
    return [rule_payload(rule) for rule in page]


@router.post(RULES, response={201: dict}, auth=scoped("project:write"))
def create_rule(
    request: HttpRequest,
    org_slug: str,
    project_slug: str,
    body: dict[str, Any] = Body(...),  # noqa: B008 (ninja's way to take a body)
) -> Status:
    """Create an issue alert rule (members)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    with transaction.atomic():
        rule = _save(project, body, request.user)
    return Status(201, rule_payload(rule))


def _rule(project, rule_id: str) -> AlertRule:
    rule = get_object_or_404(
        project.alert_rules.select_related("created_by"), pk=parse_id(rule_id)
    )
    rule.project = project
    return rule


@router.get(RULES + "{rule_id}/", auth=scoped("project:read"))
def rule(request: HttpRequest, org_slug: str, project_slug: str, rule_id: str) -> dict:
    """Retrieve one issue alert rule."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return rule_payload(_rule(project, rule_id))


@router.put(RULES + "{rule_id}/", auth=scoped("project:write"))
def update_rule(
    request: HttpRequest,
    org_slug: str,
    project_slug: str,
    rule_id: str,
    body: dict[str, Any] = Body(...),  # noqa: B008
) -> dict:
    """Overwrite an issue alert rule, as Sentry's PUT does."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    with transaction.atomic():
        rule = _save(project, body, request.user, _rule(project, rule_id))
    return rule_payload(rule)


@router.delete(RULES + "{rule_id}/", response={202: None}, auth=scoped("project:write"))
def delete_rule(
    request: HttpRequest, org_slug: str, project_slug: str, rule_id: str
) -> Status:
    """Delete an issue alert rule (members); 202 as Sentry answers."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    _rule(project, rule_id).delete()
    return Status(202, None)
