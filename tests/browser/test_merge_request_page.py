"""The merge-request page in Chromium: from an error the real SDK reported
in a release to Fixtrail's note on the merge request that shipped it,
written through a stand-in GitLab. A screenshot goes to test-artifacts/."""

from __future__ import annotations

import pytest

from fixtrail.jobs import runner
from fixtrail.releases.models import Release
from tests.browser.test_triage import (  # noqa: F401 (fixtures used by name)
    _log_in,
    _screenshot,
    browser,
    cast,
    page,
    send,
)
from tests.builders import make_commit, make_merge_request, make_repository
from tests.releases.standins import GitLabStandIn

pytestmark = pytest.mark.browser

TOKEN = "glpat-browser-token"


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    yield standin
    standin.stop()


def test_it_shows_the_issues_of_a_merge_request_and_writes_its_note(
    page,  # noqa: F811 (the fixture imported above)
    send,  # noqa: F811
    cast,  # noqa: F811
    gitlab,
):
    project = cast["project"]
    org = project.organization
    repository = make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)
    # Events may already have made the release; the test adds its commits.
    release, _ = Release.objects.get_or_create(organization=org, version="2.0")
    release.projects.add(project)
    mr = make_merge_request(repository, 7, title="Average the basket")
    make_commit(repository, "a" * 40, release=release, merge_request=mr)
    send(ZeroDivisionError("division by zero"), release="2.0")

    _log_in(page)
    page.click("text=Merge requests")
    page.click("text=acme/backend!7")
    page.wait_for_selector("#issues")
    issues = page.locator("#issues").inner_text()
    assert "ZeroDivisionError: division by zero" in issues
    assert "new" in issues

    page.click("text=Write the note now")
    page.wait_for_selector(".flash")
    assert "The note is queued" in page.locator(".flash").inner_text()
    runner.run_until_idle()
    page.reload()

    note = page.locator("#note").inner_text()
    assert "note 9001" in note
    assert "Last run: Done" in note
    body = gitlab.notes[7][9001]
    assert "### Fixtrail: errors after !7" in body
    assert "`ZeroDivisionError: division by zero`: 1 event, 1 user" in body
    _screenshot(page, "merge-request-page.png")
    assert page.problems == []
