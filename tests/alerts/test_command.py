"""``fixtrail alert add|list|test``."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fixtrail.alerts.models import AlertRule


def _run(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("alert", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_adds_a_rule_and_prints_its_id_and_webhook_secret(project):
    (line,) = _run(
        "add",
        "--project",
        "acme/backend",
        "--when",
        "frequency:50/10m",
        "--filter",
        "environment:production",
        "--to",
        "webhook:https://hooks.example.com/fixtrail",
        "--cooldown",
        "1h",
    )
    rule = AlertRule.objects.get(pk=line["id"])
    assert set(line) == {"id", "secret"}
    assert line["secret"] == rule.actions.get().secret
    assert rule.triggers == ["frequency"]
    assert (rule.threshold, rule.window_minutes) == (50, 10)
    assert rule.filter == "environment:production"
    assert rule.cooldown_minutes == 60


def test_it_prints_only_the_id_without_a_webhook(project):
    (line,) = _run(
        "add", "--project", "acme/backend", "--when", "new", "--to", "email:a@b.co"
    )
    assert set(line) == {"id"}


def test_it_rejects_a_bad_filter_with_the_reason(project):
    with pytest.raises(CommandError, match="The filter is not valid: "):
        _run(
            "add",
            "--project",
            "acme/backend",
            "--when",
            "new",
            "--filter",
            "level:loud",
            "--to",
            "members",
        )
    assert AlertRule.objects.filter(is_default=False).exists() is False


def test_it_rejects_an_unknown_project(db):
    with pytest.raises(CommandError, match="no project 'acme/nope'"):
        _run("add", "--project", "acme/nope", "--when", "new", "--to", "members")


def test_it_lists_rules(project):
    _run(
        "add",
        "--project",
        "acme/backend",
        "--when",
        "new,users:5/1h",
        "--to",
        "apprise:json://chat.example.com/x",
        "--name",
        "Users",
    )
    rows = _run("list")
    assert rows[0]["name"] == "New issues and regressions"
    assert rows[1] == {
        "id": rows[1]["id"],
        "project": "acme/backend",
        "name": "Users",
        "when": ["new", "users:5/1h"],
        "filter": "",
        "to": ["apprise:json://chat.example.com/…"],
        "cooldown": "30m",
        "active": True,
    }


def test_it_sends_a_sample_through_every_action(project, smtp, receiver):
    (line,) = _run(
        "add",
        "--project",
        "acme/backend",
        "--when",
        "new",
        "--to",
        f"webhook:{receiver.url}/hook",
        "--to",
        "email:oncall@example.com",
        "--to",
        "members",
    )
    results = _run("test", str(line["id"]))
    assert [r["ok"] for r in results] == [True, True, True]
    (request,) = receiver.requests
    expected = hmac.new(
        line["secret"].encode(), request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Fixtrail-Signature"] == f"sha256={expected}"
    assert request.json()["test"] is True
    # The members action's sample goes to one person (the owner), not all.
    assert sorted(to for _, (to,) in smtp.envelopes) == [
        "alice@example.org",
        "oncall@example.com",
    ]
    assert smtp.messages[0]["Subject"].startswith("[test] [Backend] Test alert")


def test_it_reports_a_failing_action(project, receiver):
    receiver.statuses = [500]
    (line,) = _run(
        "add",
        "--project",
        "acme/backend",
        "--when",
        "new",
        "--to",
        f"webhook:{receiver.url}/hook",
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of the rule's actions failed"):
        call_command("alert", "test", str(line["id"]), stdout=out)
    (result,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert result["ok"] is False
    assert "answered 500" in result["error"]
