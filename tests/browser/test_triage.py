"""The triage pages in a real browser (Debian's Chromium through Playwright),
against a live server fed by the real Python SDK.

Events go from ``sentry_sdk`` over HTTP to the SDK endpoint of the live
server, into the queue, and through the digest worker's unit of work, as in
production. Screenshots of the list and the issue page are written to
test-artifacts/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from fixtrail.digest.worker import digest_once
from fixtrail.issues.models import Issue
from fixtrail.queue import open_queue
from tests.builders import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django refuses
# ORM calls from a thread with a running loop unless told it is fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Milliseconds a page or an element gets before a step fails.
STEP_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, transactional_db) -> Iterator[object]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    tab = context.new_page()
    tab.problems = []
    # A CSP violation or a script error shows up on the console.
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()


@pytest.fixture
def cast(transactional_db):
    from tests.builders import make_org, make_project, make_user

    alice = make_user("alice@example.org")
    bob = make_user("bob@example.org")
    org = make_org("acme", owner=alice, members={bob: "member"})
    project = make_project(org, "backend")
    return {"alice": alice, "project": project}


@pytest.fixture
def send(live_server, cast) -> Callable[..., None]:
    """Raise ``error`` in a function of this file, report it with the real
    SDK to the live server, and digest what arrived."""
    import sentry_sdk

    project = cast["project"]
    key = project.keys.get()
    netloc = urlsplit(live_server.url).netloc
    dsn = f"http://{key.public_key}@{netloc}/{project.pk}"

    def send(
        error: Exception | Callable[[], object], release: str = "backend@1.0.0"
    ) -> None:
        client = sentry_sdk.Client(
            dsn=dsn,
            release=release,
            environment="production",
            default_integrations=False,
            auto_enabling_integrations=False,
        )
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            scope.set_tag("browser", "Firefox 128")
            scope.set_user({"id": "42", "email": "dana@example.org"})
            try:
                _fail_with(error)
            except Exception as exc:
                scope.capture_exception(exc)
        client.flush(timeout=10)
        # The SDK keeps its HTTP connection open after close(), and the live
        # server's thread for it would outlive the server; drop it now.
        pool = client.transport._pool
        client.close()
        pool.clear()
        queue = open_queue(settings.QUEUE_URL)
        try:
            while digest_once(queue, "browser-tests"):
                pass
        finally:
            queue.close()

    return send


def _fail_with(error: Exception | Callable[[], object]) -> None:
    basket = {"items": 3, "total": 0}
    _divide(basket, error)


def _divide(basket: dict, error: Exception | Callable[[], object]) -> None:
    if callable(error):
        error()  # raises from library code
    if basket["total"] == 0:
        raise error


def _log_in(page, email: str = "alice@example.org") -> None:
    page.goto("/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/organizations/acme/")


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_it_finds_resolves_and_sees_a_regression(page, send, cast):
    send(ZeroDivisionError("division by zero"))
    send(KeyError("sku"))
    _log_in(page)
    page.goto("/organizations/acme/projects/backend/")
    assert page.locator("tr.issue-row").count() == 2

    page.fill("[data-search-input]", "ZeroDivisionError")
    page.press("[data-search-input]", "Enter")
    page.wait_for_url("**query=ZeroDivisionError**")
    page.locator("tr.issue-row").first.wait_for()
    assert page.locator("tr.issue-row").count() == 1
    _screenshot(page, "issue-list.png")

    page.click("tr.issue-row a.title")
    page.wait_for_selector("#event")
    assert (
        page.locator("h1").inner_text().endswith("ZeroDivisionError: division by zero")
    )
    # In-app frames only, the latest one open with its source and variables.
    visible = [f for f in page.locator(".frame").all() if f.is_visible()]
    names = [f.locator(".fn").inner_text() for f in visible]
    assert names == ["_divide", "_fail_with", "send"]
    assert page.locator(
        ".frame.in-app details[open] ol.context li.current"
    ).is_visible()
    assert (
        page.locator(".frame.in-app details[open] table.vars")
        .inner_text()
        .count("basket")
        == 1
    )
    # Expand the older frame.
    older = page.locator(".frame.in-app details").nth(1)
    older.locator("summary").click()
    assert older.locator("ol.context").is_visible()
    _screenshot(page, "issue-page.png")

    page.click(".issue-actions [data-action=resolve]")
    page.wait_for_selector(".badge-resolved")
    issue = Issue.objects.get(title="ZeroDivisionError: division by zero")
    assert issue.status == "resolved"

    send(ZeroDivisionError("division by zero"))
    page.reload()
    assert page.locator(".issue-header .badge-regressed").is_visible()
    issue.refresh_from_db()
    assert (issue.status, issue.is_regressed, issue.times_seen) == (
        "unresolved",
        True,
        2,
    )
    assert page.problems == []


def test_it_shows_all_frames_on_a_toggle(page, send, cast):
    send(lambda: json.loads("{"))
    _log_in(page)
    issue = Issue.objects.get()
    page.goto(f"/issues/{issue.pk}/")
    system = page.locator(".frame.system")
    assert system.count() > 0
    assert system.first.is_visible() is False
    page.click("[data-toggle-frames]")
    assert system.first.is_visible() is True
    page.keyboard.press("f")
    assert system.first.is_visible() is False


def test_it_bulk_ignores_several_issues(page, send, cast):
    for error in (ValueError("a"), KeyError("b"), TypeError("c")):
        send(error)
    _log_in(page)
    page.goto("/organizations/acme/projects/backend/")
    rows = page.locator("tr.issue-row")
    assert rows.count() == 3
    rows.nth(0).locator("input[name=issue]").check()
    rows.nth(1).locator("input[name=issue]").check()
    page.click("#bulk button[value=ignore]")
    page.wait_for_selector(".flash")
    assert page.locator(".flash").inner_text() == "Ignored 2 issues."
    assert page.locator("tr.issue-row").count() == 1
    assert sorted(Issue.objects.values_list("status", flat=True)) == [
        "ignored",
        "ignored",
        "unresolved",
    ]
    assert page.problems == []


def test_it_bulk_resolves_all_matching(page, send, cast):
    for error in (ValueError("a"), KeyError("b")):
        send(error)
    _log_in(page)
    page.goto("/organizations/acme/projects/backend/")
    page.check("[data-all-matching]")
    page.click("#bulk button[value=resolve]")
    page.wait_for_selector(".flash")
    assert page.locator(".flash").inner_text() == "Resolved 2 issues."
    assert set(Issue.objects.values_list("status", flat=True)) == {"resolved"}


def test_it_works_from_the_keyboard(page, send, cast):
    send(ValueError("first"))
    send(KeyError("second"))
    send(KeyError("second"))
    _log_in(page)
    page.goto("/organizations/acme/projects/backend/")

    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#shortcuts").is_hidden()

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "query"
    page.keyboard.press("Escape")

    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = page.locator("tr.issue-row.focused")
    assert focused.count() == 1
    assert (
        page.locator("tr.issue-row").nth(1).get_attribute("class").endswith("focused")
    )
    page.keyboard.press("k")
    assert (
        page.locator("tr.issue-row").nth(0).get_attribute("class").endswith("focused")
    )
    title = page.locator("tr.issue-row.focused a.title").inner_text()

    # "i" ignores the focused issue when nothing is ticked.
    page.keyboard.press("i")
    page.wait_for_selector(".flash")
    assert Issue.objects.get(title=title).status == "ignored"

    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_selector("#event")
    issue_url = page.url
    # j/k walk the events: the KeyError issue has two.
    if page.locator("[data-event-older]").count():
        page.keyboard.press("j")
        page.wait_for_function("document.querySelector('[data-event-newer]') !== null")
        page.keyboard.press("k")
        page.wait_for_function("document.querySelector('[data-event-older]') !== null")
    page.keyboard.press("r")
    page.wait_for_selector(".badge-resolved")
    assert page.url.startswith(issue_url.split("/events/")[0])
    page.keyboard.press("u")
    page.wait_for_url("**/projects/backend/")
    assert page.problems == []
