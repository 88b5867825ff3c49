"""Every page in Chromium, empty and filled, at desktop and phone widths.

Each visit fails on a console error (a script error or a CSP violation),
on a serious or critical axe-core accessibility violation, and, at phone
width, on a page wider than the screen. With FIXTRAIL_SCREENSHOTS set to a
directory, each visit also writes a full-page screenshot there
(``make screenshots``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from fixtrail.accounts import setup
from fixtrail.accounts.models import ApiToken
from fixtrail.accounts.teams import create_team, give_project, join_team
from fixtrail.adoption import forwarding
from fixtrail.adoption.models import Forwarding
from fixtrail.events.models import Event
from fixtrail.issues import actions
from fixtrail.issues.models import Issue
from tests.browser.test_triage import STEP_TIMEOUT_MS, browser, cast, send  # noqa: F401
from tests.builders import make_org, make_project, make_user

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    # An ordinary phone held upright.
    "phone": {"width": 390, "height": 844},
}
# axe-core's impact levels that fail a page; "minor" and "moderate" ones
# are reported by axe but are matters of taste more than of access.
FAILING_IMPACTS = {"serious", "critical"}
# Swagger UI is a third-party widget; the page around it is checked.
AXE_EXCLUDE = {"exclude": [["#swagger-ui"]]}
# The innermost elements reaching past the right edge of the screen.
WIDEST_ELEMENTS = """Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-3).map(e => e.tagName.toLowerCase() + "." + e.className)"""
# A 404 page's own status shows on the console as a failed resource.
EXPECTED_CONSOLE = "the server responded with a status of 404"


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    logged_in: bool = True


def _problems(tab, visit: Visit, viewport: str) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    tab.problems.clear()
    tab.goto(visit.path, wait_until="load")
    tab.wait_for_load_state("networkidle")
    found = [
        f"{visit.name}: console: {text}"
        for text in tab.problems
        if EXPECTED_CONSOLE not in text
    ]
    results = Axe().run(tab, context=AXE_EXCLUDE)
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(
                f"{visit.name}: axe {violation['id']} ({violation['impact']}): "
                f"{violation['help']} at {targets}"
            )
    if viewport == "phone":
        width = tab.evaluate("document.documentElement.scrollWidth")
        if width > VIEWPORTS["phone"]["width"] + 1:
            found.append(
                f"{visit.name}: {width}px wide on a 390px screen, past its edge: "
                f"{tab.evaluate(WIDEST_ELEMENTS)}"
            )
    shots = os.environ.get("FIXTRAIL_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        tab.screenshot(
            path=str(Path(shots) / f"{visit.name}-{viewport}.png"), full_page=True
        )
    return found


def _tab(browser, live_server, viewport: str, session: str | None):  # noqa: F811
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport]
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    if session:
        context.add_cookies(
            [{"name": "sessionid", "value": session, "url": live_server.url}]
        )
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
    return context, tab


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _visit_all(browser, live_server, viewport, visits, user) -> list[str]:  # noqa: F811
    found: list[str] = []
    for logged_in in (False, True):
        context, tab = _tab(
            browser, live_server, viewport, _session(user) if logged_in else None
        )
        try:
            for visit in visits:
                if visit.logged_in is logged_in:
                    found += _problems(tab, visit, viewport)
        finally:
            context.close()
    return found


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_it_serves_every_empty_page_cleanly(
    browser,  # noqa: F811
    live_server,
    transactional_db,
    viewport,
):
    token = setup.setup_token()
    setup_visit = Visit("empty-setup", f"/setup/?token={token}", logged_in=False)
    found: list[str] = []
    context, tab = _tab(browser, live_server, viewport, None)
    try:
        found += _problems(tab, setup_visit, viewport)
    finally:
        context.close()
    alice = make_user("alice@example.org")
    org = make_org("acme", owner=alice)
    make_project(org, "backend")
    visits = [
        Visit("empty-login", "/login/", logged_in=False),
        Visit("empty-password-reset", "/password-reset/", logged_in=False),
        Visit("empty-organization", "/organizations/acme/"),
        Visit("empty-waiting", "/organizations/acme/projects/backend/"),
        Visit("empty-org-issues", "/organizations/acme/issues/"),
        Visit("empty-settings", "/organizations/acme/projects/backend/settings/"),
        Visit("empty-stats", "/organizations/acme/projects/backend/stats/"),
        Visit("empty-new-project", "/organizations/acme/projects/new/"),
        Visit("empty-members", "/organizations/acme/members/"),
        Visit("empty-teams", "/organizations/acme/teams/"),
        Visit("empty-tokens", "/account/tokens/"),
        Visit("empty-api-docs", "/api/docs"),
        Visit("empty-not-found", "/organizations/acme/nothing/"),
        Visit("empty-trackers", "/organizations/acme/integrations/"),
        Visit("empty-merge-requests", "/organizations/acme/merge-requests/"),
        Visit("empty-releases", "/organizations/acme/projects/backend/releases/"),
        Visit("empty-artifacts", "/organizations/acme/projects/backend/artifacts/"),
        Visit("empty-alert-rules", "/organizations/acme/projects/backend/alerts/"),
        Visit("empty-alert-emails", "/alerts/settings/"),
        Visit("empty-ownership", "/organizations/acme/projects/backend/ownership/"),
        Visit("empty-grouping", "/organizations/acme/projects/backend/grouping/"),
        Visit("empty-forwarding", "/organizations/acme/projects/backend/forwarding/"),
        Visit("empty-security", "/account/security/"),
        Visit("empty-org-security", "/organizations/acme/security/"),
    ]
    found += _visit_all(browser, live_server, viewport, visits, alice)
    assert found == [], "\n".join(found)


@pytest.fixture
def filled(cast, send):  # noqa: F811
    """Two issues from the real SDK, one resolved with a comment; a team
    with the project; a token."""
    send(ZeroDivisionError("division by zero"))
    send(KeyError("sku"))
    alice, project = cast["alice"], cast["project"]
    alice.name = "Dana"
    alice.save(update_fields=["name"])
    resolved = Issue.objects.get(type="KeyError")
    actions.resolve_issues(
        [resolved], user=alice, how="in_release", release="2.1", now=timezone.now()
    )
    actions.add_comment(resolved, user=alice, text="Fixed by **checking** the sku.")
    team = create_team(project.organization, "Backend")
    join_team(team, alice)
    give_project(team, project)
    make_project(project.organization, "web", name="Web Shop")
    ApiToken.issue(alice, "CI", ["project:read", "event:read"])
    forwarding.set_forwarding(project, "https://k@sentry.example.com/3")
    Forwarding.objects.filter(project=project).update(
        forwarded=41,
        failed=1,
        last_error="https://sentry.example.com/api/3 answered 403: forbidden",
        last_error_at=timezone.now(),
    )
    return cast


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_it_serves_every_filled_page_cleanly(
    browser,  # noqa: F811
    live_server,
    filled,
    viewport,
):
    issue = Issue.objects.get(type="ZeroDivisionError")
    resolved = Issue.objects.get(type="KeyError")
    event = Event.objects.filter(issue=issue).first()
    visits = [
        Visit("filled-organization", "/organizations/acme/"),
        Visit("filled-issues", "/organizations/acme/projects/backend/"),
        Visit("filled-org-issues", "/organizations/acme/issues/"),
        Visit("filled-org-issues-project", "/organizations/acme/issues/?project=web"),
        Visit("filled-issue", f"/issues/{issue.pk}/"),
        Visit("filled-issue-resolved", f"/issues/{resolved.pk}/"),
        Visit("filled-events", f"/issues/{issue.pk}/events/"),
        Visit("filled-event", f"/issues/{issue.pk}/events/{event.event_id}/"),
        Visit("filled-settings", "/organizations/acme/projects/backend/settings/"),
        Visit("filled-stats", "/organizations/acme/projects/backend/stats/?period=30d"),
        Visit("filled-waiting", "/organizations/acme/projects/web/"),
        Visit("filled-members", "/organizations/acme/members/"),
        Visit("filled-teams", "/organizations/acme/teams/"),
        Visit("filled-tokens", "/account/tokens/"),
        Visit("filled-forwarding", "/organizations/acme/projects/backend/forwarding/"),
    ]
    assert filled["alice"].name == "Dana"
    found = _visit_all(browser, live_server, viewport, visits, filled["alice"])
    assert found == [], "\n".join(found)
