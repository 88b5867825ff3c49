"""The alert rule pages in a real browser: create a rule from the project's
settings, get a bad filter refused, see the webhook secret once, delete."""

from __future__ import annotations

import re

import pytest

from fixtrail.alerts.models import AlertRule
from tests.browser.test_triage import (  # noqa: F401 (fixtures)
    _log_in,
    browser,
    cast,
    page,
)

pytestmark = pytest.mark.browser


def test_it_creates_tests_and_deletes_a_rule(page, cast):  # noqa: F811
    _log_in(page)
    page.goto("/organizations/acme/projects/backend/settings/")
    page.click("text=Alert rules")
    assert (
        page.locator("#alert-rules").inner_text().count("New issues and regressions")
        == 1
    )
    page.click("text=New rule")
    page.fill("input[name=name]", "Busy in production")
    page.check("input[name=events][value=new]")
    page.select_option("select[name=counted]", "frequency")
    page.fill("input[name=threshold]", "50")
    page.fill("input[name=window]", "10m")
    page.fill("input[name=filter]", "level:loud")
    page.fill("input[name=cooldown]", "1h")
    page.fill("textarea[name=add_actions]", "webhook:https://hooks.example.com/x")
    page.click("text=Save rule")
    assert "The filter is not valid: " in page.locator("#rule-form").inner_text()
    assert AlertRule.objects.filter(name="Busy in production").exists() is False

    page.fill("input[name=filter]", "environment:production")
    page.click("text=Save rule")
    flash = page.locator(".flash", has_text="Webhook signing secret").inner_text()
    rule = AlertRule.objects.get(name="Busy in production")
    secret = rule.actions.get().secret
    assert flash.endswith(secret)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert rule.filter == "environment:production"
    assert (rule.threshold, rule.window_minutes, rule.cooldown_minutes) == (50, 10, 60)

    page.click("text=Send a test")
    assert "Queued 1 test message(s)" in page.locator(".flash").first.inner_text()
    assert page.locator("#deliveries tbody tr").count() == 1

    page.click("button:has-text('Delete')")
    assert "Rule deleted." in page.locator(".flash").first.inner_text()
    assert AlertRule.objects.filter(name="Busy in production").exists() is False
    assert page.problems == []
