"""First run, sign-in and project creation, clicked through in Chromium."""

from __future__ import annotations

import os
import re

import pytest
from django.utils import timezone

from fixtrail.accounts import setup
from fixtrail.projects.models import Project
from tests.digest.queueing import digest_payloads, python_error

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Playwright's sync API runs an event loop in this thread; the ORM calls the
# test makes between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Failed to load resource" not in msg.text
                else None
            ),
        )
        yield page
        browser.close()
        # A CSP violation or a script error shows up here.
        assert errors == []


def test_first_run_creates_the_admin_and_a_project_with_a_dsn(
    page, live_server, settings
):
    settings.BASE_URL = live_server.url
    token = setup.setup_token()

    page.goto(f"{live_server.url}/")
    assert "one-time token" in page.content()

    page.goto(f"{live_server.url}/setup/?token={token}")
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", "a long enough password")
    page.fill("input[name=organization]", "Acme Corp")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/organizations/acme-corp/$"))
    assert "No projects yet." in page.content()

    page.click("text=New project")
    page.fill("input[name=name]", "Checkout")
    page.select_option("select[name=platform]", "javascript")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/checkout/$"))
    assert "Waiting for your first event" in page.text_content("main")
    dsn = page.text_content("code.dsn")
    host = live_server.url.removeprefix("http://")
    assert re.fullmatch(rf"http://[0-9a-f]{{32}}@{re.escape(host)}/\d+", dsn)
    assert page.text_content("main h2 >> nth=1") == "Set up JavaScript (browser)"
    assert "Sentry.init" in page.text_content("body")

    # The page polls: once digest stores the first event, it is the list.
    digest_payloads(
        Project.objects.get(slug="checkout"),
        [python_error(value="the very first")],
        received_at=timezone.now(),
    )
    page.wait_for_selector("table.issues a.title", timeout=15_000)
    assert "Waiting for your first event" not in page.text_content("main")

    page.click("text=Log out")
    page.wait_for_url(re.compile(r"/login/$"))
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", "wrong password")
    page.click("main button[type=submit]")
    assert "Wrong e-mail or password." in page.content()
    page.fill("input[name=password]", "a long enough password")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/organizations/acme-corp/$"))
    assert "Checkout" in page.text_content("table")
