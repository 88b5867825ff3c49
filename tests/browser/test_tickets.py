"""Filing a ticket from the issue page in a real browser (Chromium through
Playwright), against a live server and a stand-in GitLab."""

from __future__ import annotations

import pytest

from fixtrail.integrations.connections import add_integration
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.models import Issue
from fixtrail.jobs.runner import run_until_idle
from tests.browser import test_triage
from tests.integrations.stand_ins import GitLab

pytestmark = pytest.mark.browser

# The triage suite's fixtures: Chromium, a logged-out tab on the live
# server, the cast, and sending errors with the real SDK.
browser = test_triage.browser
page = test_triage.page
cast = test_triage.cast
send = test_triage.send


@pytest.fixture
def gitlab():
    server = GitLab(token="glpat-browser").start()
    yield server
    server.stop()


def test_it_files_a_ticket_from_the_issue_page(page, send, cast, gitlab):
    send(ZeroDivisionError("division by zero"))
    add_integration(
        cast["project"].organization,
        "gitlab",
        {"url": gitlab.url, "token": "glpat-browser", "target": "group/app"},
        user=None,
    )
    issue = Issue.objects.get()
    test_triage._log_in(page)
    page.goto(f"/issues/{issue.pk}/")

    page.click("#tickets .ticket-create summary")
    title = page.locator("#tickets input[name=title]")
    assert title.input_value() == f"BACKEND-1: {issue.title}"
    body = page.locator("#tickets textarea[name=body]").input_value()
    assert "**ZeroDivisionError**: division by zero" in body
    assert "in _divide" in body
    title.fill("Checkout divides by zero")
    page.fill("#tickets input[name=labels]", "bug, checkout")
    page.click("#tickets .ticket-create button[type=submit]")

    page.wait_for_selector(".ticket-request-pending")
    assert "Filing “Checkout divides by zero”…" in page.inner_text("#tickets")
    # The worker's job runner files it; the panel refreshes itself.
    assert run_until_idle() == 1
    page.wait_for_selector("#tickets [data-ticket='GL-#1']")
    assert page.locator(".ticket-request-pending").count() == 0
    assert page.locator("#tickets .badge-ticket-open").inner_text() == "open"
    test_triage._screenshot(page, "issue-ticket.png")

    filed = gitlab.issues[1]
    assert filed["title"] == "Checkout divides by zero"
    assert filed["labels"] == ["bug", "checkout"]
    assert "in _divide" in filed["description"]
    link = ExternalIssueLink.objects.get(issue=issue)
    assert link.created_by == cast["alice"]
    assert page.problems == []
