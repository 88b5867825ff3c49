"""Releases, repositories and suspect commits in a real browser (Debian's
Chromium through Playwright), with an error sent by the real Python SDK."""

from __future__ import annotations

import pytest

from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Release, Repository
from fixtrail.releases.providers.base import CommitInfo
from tests.browser.test_triage import (  # noqa: F401
    _log_in,
    _screenshot,
    browser,
    cast,
    page,
    send,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MERGE = "7" * 40


def test_it_links_a_repository_and_follows_a_suspect_to_its_release(request):
    # The triage suite's fixtures, imported above, by name.
    tab, report = request.getfixturevalue("page"), request.getfixturevalue("send")
    report(ZeroDivisionError("division by zero"), release="backend@2.0")
    _log_in(tab)

    tab.goto("/organizations/acme/projects/backend/settings/")
    tab.select_option("select[name=provider]", "gitlab")
    tab.fill("input[name=url]", "https://gitlab.example.com/acme/backend")
    tab.fill("input[name=token]", "glpat-browser-secret")
    tab.click("text=Link repository")
    tab.wait_for_selector("text=Linked acme/backend.")
    assert "glpat-browser-secret" not in tab.content()
    repository = Repository.objects.get()
    assert repository.token == "glpat-browser-secret"

    # CI sets the release's commits: one changed the file that crashed.
    store_commits(
        Release.objects.get(version="backend@2.0"),
        repository,
        [
            CommitInfo(
                sha=MERGE,
                message="Merge branch 'split' into 'main'\n\nSplit the basket"
                "\n\nSee merge request acme/backend!42",
                author_name="Bob Builder",
                files=[("tests/browser/test_triage.py", "M")],
            )
        ],
    )
    tab.goto("/organizations/acme/projects/backend/")
    tab.click("tr.issue-row a")
    side = tab.locator("#correlation")
    assert "First seen in release backend@2.0" in side.inner_text()
    assert "Introduced by !42 Split the basket" in side.inner_text()
    assert side.locator("a", has_text="!42").get_attribute("href") == (
        "https://gitlab.example.com/acme/backend/-/merge_requests/42"
    )
    _screenshot(tab, "issue-suspects.png")

    side.locator("a.release").click()
    tab.wait_for_url("**/organizations/acme/releases/backend%402.0/")
    assert MERGE[:12] in tab.locator("#commits").inner_text()
    assert "acme/backend!42" in tab.locator("#merge-requests").inner_text()
    assert "ZeroDivisionError" in tab.locator("#new-issues").inner_text()
    _screenshot(tab, "release.png")
    assert tab.problems == []
