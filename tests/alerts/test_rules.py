from __future__ import annotations

import pytest

from fixtrail.alerts import triggers
from fixtrail.alerts.models import AlertAction, AlertRule
from fixtrail.alerts.rules import (
    ActionSpec,
    RuleError,
    create_default_rule,
    parse_action,
    save_rule,
)
from fixtrail.projects.models import create_project_with_key
from tests.builders import make_project


def test_it_gives_a_new_project_the_default_rule(org):
    project = create_project_with_key(org, "Payments", "python")
    rule = project.alert_rules.get()
    assert rule.is_default is True
    assert rule.name == "New issues and regressions"
    assert rule.triggers == ["new", "regression"]
    assert rule.cooldown_minutes == 30
    assert [a.kind for a in rule.actions.all()] == ["members"]


def test_it_does_not_add_a_second_default_rule(project):
    again = create_default_rule(project)
    assert project.alert_rules.count() == 1
    assert again.is_default is True


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("level:loud", "The filter is not valid: "),
        ("timesSeen:>lots", "The filter is not valid: "),
        ("assigned:me", "assigned:me and is:bookmarked depend on who looks"),
        ("is:bookmarked", "assigned:me and is:bookmarked depend on who looks"),
    ],
)
def test_it_rejects_a_bad_filter_on_save(project, query, message):
    with pytest.raises(RuleError, match=message):
        save_rule(
            project,
            name="Production errors",
            when=triggers.When(("new",)),
            filter=query,
            add_actions=[ActionSpec("email", "ops@example.com")],
        )
    # Nothing of the rejected rule was kept.
    assert list(project.alert_rules.values_list("name", flat=True)) == [
        "New issues and regressions"
    ]


def test_it_saves_a_rule_with_a_filter_and_a_webhook_secret(project):
    saved = save_rule(
        project,
        name="Production errors",
        when=triggers.parse_when(["frequency:100/10m"]),
        filter="environment:production level:error",
        cooldown_minutes=60,
        add_actions=[parse_action("webhook:https://hooks.example.com/x?token=abc")],
    )
    rule = AlertRule.objects.get(pk=saved.rule.pk)
    assert (rule.threshold, rule.window_minutes) == (100, 10)
    assert rule.filter == "environment:production level:error"
    action = rule.actions.get()
    assert action.label == "https://hooks.example.com/…"
    assert action.target == "https://hooks.example.com/x?token=abc"
    assert len(action.secret) == 64
    assert saved.secrets == {action.pk: action.secret}


def test_it_seals_targets_and_secrets_at_rest(project):
    from django.db import connection

    saved = save_rule(
        project,
        name="Chat",
        when=triggers.When(("new",)),
        add_actions=[parse_action("webhook:https://hooks.example.com/T0KEN")],
    )
    action = saved.rule.actions.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT target, secret FROM alerts_alertaction WHERE id = %s", [action.pk]
        )
        target, secret = cursor.fetchone()
    assert "T0KEN" not in target
    assert action.secret not in secret


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("email:not-an-address", "'not-an-address' is not an e-mail address."),
        ("webhook:ftp://example.com/", "A webhook needs an http(s) URL"),
        ("apprise:nonsense://x", "apprise does not understand this URL"),
        ("pager:123", "Unknown action 'pager:123'"),
    ],
)
def test_it_rejects_bad_actions(spec, message):
    with pytest.raises(
        RuleError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_action(spec)


def test_it_needs_an_action(org):
    project = make_project(org, "frontend")
    with pytest.raises(RuleError, match="A rule needs at least one action."):
        save_rule(project, name="Nothing", when=triggers.When(("new",)))
    assert AlertRule.objects.filter(name="Nothing").exists() is False


def test_it_parses_apprise_urls():
    assert parse_action("apprise:json://127.0.0.1:9/hook") == ActionSpec(
        AlertAction.Kind.APPRISE, "json://127.0.0.1:9/hook"
    )
