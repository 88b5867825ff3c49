"""The review inbox in a real browser: the For review tab, marking an issue
reviewed with the keyboard, and opening one."""

from __future__ import annotations

import pytest

from fixtrail.issues.models import Issue
from tests.browser.test_triage import (  # noqa: F401 (fixtures)
    _log_in,
    browser,
    cast,
    page,
    send,
)

pytestmark = pytest.mark.browser


def test_it_reviews_from_the_for_review_tab(page, send, cast):  # noqa: F811
    send(ZeroDivisionError("division by zero"))
    send(KeyError("sku"))
    _log_in(page)
    # The organization page counts what waits.
    assert page.locator("[data-review-count=backend]").inner_text() == "2"
    page.click("[data-review-count=backend]")
    page.wait_for_url("**query=is%3Aunresolved+is%3Afor_review**")
    assert page.locator("tr.issue-row").count() == 2
    assert page.locator("[data-review-tab]").inner_text() == "For review (2)"

    # j focuses the first row, e marks it reviewed.
    page.keyboard.press("j")
    first_id = int(page.locator("tr.issue-row.focused").get_attribute("data-issue"))
    page.keyboard.press("e")
    page.wait_for_selector("[data-review-tab]:has-text('For review (1)')")
    assert page.locator("tr.issue-row").count() == 1
    assert Issue.objects.get(pk=first_id).inbox_reason == ""

    # Opening the other one reviews it too.
    page.click("tr.issue-row a.title")
    page.wait_for_selector("#event")
    page.goto("/organizations/acme/")
    assert page.locator("[data-review-count=backend]").inner_text() == "0"
    assert not page.problems
