"""@sentry/browser in Chromium throwing from a minified bundle: esbuild
bundles the TypeScript app with the SDK, sentry-cli injects debug IDs and
uploads to a running Fixtrail, Chromium loads the page, and both the API
and the issue page show the original .ts frame, with a toggle to the raw
minified one."""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.browser.test_triage import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD
from tests.sdk.conftest import FixtrailServer
from tests.sdk.test_browser_sdk import _ShopPageHandler
from tests.symbols.conftest import APP_DIR, build_app, cli_runner

# Playwright's sync API runs an event loop in this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.live, pytest.mark.browser]

PAGE_TIMEOUT_MS = 30_000
CARD_DECLINED_LINE = next(
    i
    for i, line in enumerate((APP_DIR / "checkout.ts").read_text().splitlines(), 1)
    if "card declined" in line
)
_PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>Pay</title>' \
    '<link rel="icon" href="data:,"><script src="/app.js"></script></head>' \
    "<body><h1>Pay</h1></body></html>"  # fmt: skip


@pytest.fixture(scope="module")
def shop(esbuild, js_packages, fixtrail_server, tmp_path_factory) -> Iterator[str]:
    """Build, inject and upload the browser bundle; serve it; yield the
    page's origin."""
    root = tmp_path_factory.mktemp("shop-web")
    bundle = build_app(
        esbuild, root, "web", platform="browser", node_modules=js_packages
    )
    cli = cli_runner(
        fixtrail_server.url, fixtrail_server.project["token"], "acme", "shop",
        root.parent / "home-web",
    )  # fmt: skip
    for args in (
        ("sourcemaps", "inject", str(root)),
        ("sourcemaps", "upload", str(root)),
    ):
        result = cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
    (root / "index.html").write_text(_PAGE)
    assert bundle.exists()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_ShopPageHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reported(chromium, shop, fixtrail_server) -> dict:
    """Load the page once; return the digested event's issue and id."""
    context = chromium.new_context()
    page = context.new_page()
    dsn = quote(fixtrail_server.project["dsn"], safe="")
    with page.expect_response(
        lambda r: (
            "/envelope/" in r.url and '"type":"event"' in (r.request.post_data or "")
        ),
        timeout=PAGE_TIMEOUT_MS,
    ) as info:
        page.goto(f"{shop}/?dsn={dsn}")
    header = json.loads(info.value.request.post_data.split("\n", 1)[0])
    context.close()
    event_id = header["event_id"]
    digested = fixtrail_server.digest([event_id])
    assert digested["processing_errors"] == []
    return {"event_id": event_id, **digested["issues"][event_id]}


def _api_event(server: FixtrailServer, event_id: str) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/0/projects/acme/shop/events/{event_id}/",
        headers={"Authorization": f"Bearer {server.project['token']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_it_resolves_the_browser_frame_to_typescript(reported, fixtrail_server):
    event = _api_event(fixtrail_server, reported["event_id"])
    (entry,) = [e for e in event["entries"] if e["type"] == "exception"]
    value = entry["data"]["values"][-1]
    top = value["stacktrace"]["frames"][-1]
    assert top["filename"].endswith("checkout.ts")
    assert top["function"] == "chargeCard"
    assert top["lineNo"] == CARD_DECLINED_LINE
    raw_top = value["rawStacktrace"]["frames"][-1]
    assert raw_top["filename"].endswith("/app.js")
    assert reported["culprit"].endswith("checkout.ts in chargeCard")


def test_it_shows_original_frames_and_a_raw_toggle_on_the_issue_page(
    chromium, reported, fixtrail_server
):
    context = chromium.new_context(base_url=fixtrail_server.url)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto("/login/")
    page.fill("input[name=email]", "alice@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/organizations/acme/")
    page.goto(f"/issues/{reported['issue_id']}/")
    stack = page.locator(".exception .stacktrace").first
    assert "checkout.ts" in stack.inner_text()
    assert "chargeCard" in stack.inner_text()
    page.click("[data-toggle-raw]")
    page.wait_for_url("**raw=1")
    raw = page.locator(".exception .stacktrace").first.inner_text()
    assert "app.js" in raw
    assert "checkout.ts" not in raw
    assert page.locator("[data-toggle-raw]").inner_text() == "Show original frames"
    context.close()
