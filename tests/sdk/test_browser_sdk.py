"""The real @sentry/browser SDK in Chromium, on a shop page of another
origin, reporting to a running Fixtrail: CORS lets it post (with and
without a preflight), the key in the query string authenticates it, and the
error arrives with the browser's stack frames.

The shop page is served by a small static server on its own port. It loads
the SDK's published ES modules straight from node_modules through an import
map (its npm package holds no prebuilt bundle; see
tests/sdk/js/import_map.mjs), then runs tests/sdk/js/browser_app.js, which
throws from a named function in a timer callback.

The page is loaded once per variant for the whole module (a browser run
costs seconds); each test checks one side of what those loads did.
"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.sdk.conftest import JS_DIR, SUBPROCESS_TIMEOUT_SECONDS, FixtrailServer

pytestmark = [pytest.mark.live, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
APP = JS_DIR / "browser_app.js"
SDK_VERSION = json.loads((JS_DIR / "package.json").read_text())["dependencies"][
    "@sentry/browser"
]
# The page loads some 280 modules; it and the SDK's report take about 3 s.
PAGE_TIMEOUT_MS = 30_000
# Reports still in flight after the event (the session update) get this long.
SETTLE_TIMEOUT_SECONDS = 10.0
SETTLE_POLL_MS = 50

# "simple": the SDK's default request, text/plain with the key in the URL,
# which browsers send without a preflight. "preflighted": the transport adds
# a header of its own (transportOptions.headers), so Chromium asks first.
VARIANTS = {"simple": "", "preflighted": "&header=1"}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Basket</title>
<link rel="icon" href="data:,">
<script type="importmap">{import_map}</script>
<script type="module" src="/browser_app.js"></script>
</head>
<body><h1>Basket</h1></body>
</html>
"""


class _ShopPageHandler(http.server.SimpleHTTPRequestHandler):
    # Keep-alive: the page fetches hundreds of small modules.
    protocol_version = "HTTP/1.1"
    # Module scripts must come with a JavaScript MIME type, whatever the
    # machine's mime.types says.
    extensions_map = {
        ".html": "text/html",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        "": "application/octet-stream",
    }

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a page load is hundreds of requests."""


@pytest.fixture(scope="module")
def shop_origin(js_packages, tmp_path_factory) -> Iterator[str]:
    """Serve the shop page on a port of its own; yield its origin."""
    import_map = subprocess.run(
        ["node", str(JS_DIR / "import_map.mjs")],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=True,
    ).stdout.strip()
    root = tmp_path_factory.mktemp("shop")
    (root / "index.html").write_text(_PAGE.format(import_map=import_map))
    (root / "browser_app.js").symlink_to(APP)
    (root / "node_modules").symlink_to(js_packages)
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


@dataclass
class PageRun:
    """What one load of the shop page did, as Chromium saw it."""

    page_url: str
    event_id: str
    request_url: str
    request_headers: dict[str, str]
    envelope_header: dict[str, Any]
    response_status: int
    response_headers: dict[str, str]
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    # Reports still unanswered when the page was closed.
    unfinished_requests: list[str] = field(default_factory=list)
    # (request headers, response status, response headers) of each preflight
    preflights: list[tuple[dict, int, dict]] = field(default_factory=list)


def _is_event_envelope(response: Any) -> bool:
    body = response.request.post_data or ""
    return "/envelope/" in response.url and '"type":"event"' in body


def _load_shop_page(browser: Any, page_url: str, server: FixtrailServer) -> PageRun:
    """Open the page, wait for the SDK's event to be answered and for every
    other report to finish, and return what happened."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    context = browser.new_context()
    page = context.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    in_flight: set[Any] = set()
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda exc: page_errors.append(exc.message))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("request", lambda r: "/api/" in r.url and in_flight.add(r))
    page.on("requestfinished", lambda r: in_flight.discard(r))
    page.on("requestfailed", lambda r: in_flight.discard(r))
    # Playwright's own events leave preflights out; the DevTools protocol
    # reports them as requests initiated by "preflight".
    preflights: dict[str, list] = {}
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")

    def on_request(params: dict) -> None:
        if params["initiator"]["type"] == "preflight":
            preflights[params["requestId"]] = [params["request"]["headers"]]

    def on_response(params: dict) -> None:
        if params["requestId"] in preflights:
            response = params["response"]
            preflights[params["requestId"]] += [response["status"], response["headers"]]

    cdp.on("Network.requestWillBeSent", on_request)
    cdp.on("Network.responseReceived", on_response)
    try:
        with page.expect_response(_is_event_envelope, timeout=PAGE_TIMEOUT_MS) as info:
            page.goto(page_url)
        response = info.value
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(SETTLE_POLL_MS)
    except PlaywrightTimeoutError:
        pytest.fail(
            f"no event from {page_url} was answered; page errors {page_errors}, "
            f"console errors {console_errors}, failed requests {failed}; "
            f"server log:\n{server.log()}"
        )
    request = response.request
    envelope_header = json.loads(request.post_data.split("\n", 1)[0])
    run = PageRun(
        page_url=page_url,
        event_id=envelope_header["event_id"],
        request_url=request.url,
        request_headers=request.all_headers(),
        envelope_header=envelope_header,
        response_status=response.status,
        response_headers=response.all_headers(),
        console_errors=console_errors,
        page_errors=page_errors,
        failed_requests=failed,
        unfinished_requests=[r.url for r in in_flight],
        preflights=[tuple(entry) for entry in preflights.values()],
    )
    context.close()
    return run


@pytest.fixture(scope="module")
def page_runs(fixtrail_server, shop_origin) -> dict[str, PageRun]:
    """Load the shop page once per variant; return the runs by variant."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is required at {CHROMIUM} (`make browser` installs it); "
            "deselect these tests with -m 'not browser' where it cannot run"
        )
    from playwright.sync_api import sync_playwright

    dsn = quote(fixtrail_server.project["dsn"], safe="")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            return {
                variant: _load_shop_page(
                    browser, f"{shop_origin}/?dsn={dsn}{suffix}", fixtrail_server
                )
                for variant, suffix in VARIANTS.items()
            }
        finally:
            browser.close()


@pytest.fixture(scope="module")
def queued_events(page_runs, fixtrail_server) -> dict[str, tuple[dict, dict]]:
    """The events in the server's queue once both pages reported."""
    return fixtrail_server.queued_events()


def _position_of(text: str) -> tuple[int, int]:
    """Return the 1-based (line, column) of ``text`` in browser_app.js."""
    lines = APP.read_text().splitlines()
    found = [
        (n, line.index(text) + 1) for n, line in enumerate(lines, 1) if text in line
    ]
    assert len(found) == 1, f"{text!r} is at {found}"
    return found[0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_it_queues_the_error_with_the_browsers_frames(
    variant, page_runs, queued_events, fixtrail_server, shop_origin
):
    run = page_runs[variant]
    assert run.event_id in queued_events, fixtrail_server.log()
    header, event = queued_events[run.event_id]
    assert header["project_id"] == fixtrail_server.project["project_id"]
    assert header["client_ip"] == "127.0.0.1"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "TypeError"
    assert exception["value"] == "basket B-7 has no items"
    # Uncaught: the SDK's wrapper around setTimeout saw it escape.
    assert exception["mechanism"] == {
        "type": "auto.browser.browserapierrors.setTimeout",
        "handled": False,
    }
    click_line, click_column = _position_of('renderBasket({ id: "B-7" });')
    throw_line, throw_column = _position_of("new TypeError(")
    assert exception["stacktrace"]["frames"] == [
        {
            "filename": f"{shop_origin}/browser_app.js",
            "function": "onCheckoutClick",
            "in_app": True,
            "lineno": click_line,
            "colno": click_column,
        },
        {
            "filename": f"{shop_origin}/browser_app.js",
            "function": "renderBasket",
            "in_app": True,
            "lineno": throw_line,
            "colno": throw_column,
        },
    ]
    assert event["request"]["url"] == run.page_url
    assert event["release"] == "shop-web@3.0.0"
    assert event["environment"] == "production"
    assert event["user"] == {"id": "7", "username": "grace"}
    assert event["tags"] == {"page": "basket"}
    assert event["platform"] == "javascript"
    assert event["sdk"]["name"] == "sentry.javascript.browser"
    assert event["sdk"]["version"] == SDK_VERSION


@pytest.mark.parametrize("variant", VARIANTS)
def test_it_authenticates_the_browser_sdk_by_the_sentry_key_parameter(
    variant, page_runs, queued_events, fixtrail_server
):
    run = page_runs[variant]
    project = fixtrail_server.project
    url = urlsplit(run.request_url)
    assert url.path == f"/api/{project['project_id']}/envelope/"
    assert parse_qs(url.query) == {
        "sentry_version": ["7"],
        "sentry_key": [urlsplit(project["dsn"]).username],
        "sentry_client": [f"sentry.javascript.browser/{SDK_VERSION}"],
    }
    # The key is nowhere else: not in a header, not in the envelope.
    assert "x-sentry-auth" not in run.request_headers
    assert "authorization" not in run.request_headers
    assert "dsn" not in run.envelope_header
    assert run.response_status == 200
    header, _ = queued_events[run.event_id]
    assert type(header["key_id"]) is int


@pytest.mark.parametrize("variant", VARIANTS)
def test_it_answers_with_cors_headers_so_the_browser_reports_no_error(
    variant, page_runs, shop_origin
):
    run = page_runs[variant]
    # What the SDK sends by default: a body a browser may post cross-origin
    # without asking first.
    assert run.request_headers["content-type"] == "text/plain;charset=UTF-8"
    assert run.response_headers["access-control-allow-origin"] == shop_origin
    assert run.response_headers["access-control-expose-headers"] == (
        "x-sentry-error, x-sentry-rate-limits, retry-after"
    )
    # A CORS refusal shows up as a console error and a failed request.
    assert run.console_errors == []
    assert run.failed_requests == []
    assert run.unfinished_requests == []
    assert run.page_errors == ["basket B-7 has no items"]


def test_it_needs_no_preflight_for_the_sdks_default_request(page_runs):
    assert page_runs["simple"].preflights == []


def test_it_answers_the_preflight_of_a_transport_with_its_own_header(
    page_runs, shop_origin
):
    run = page_runs["preflighted"]
    assert run.request_headers["x-shop-build"] == "3.0.0"
    assert run.preflights != []
    for request_headers, status, response_headers in run.preflights:
        assert request_headers["Access-Control-Request-Method"] == "POST"
        assert request_headers["Access-Control-Request-Headers"] == "x-shop-build"
        assert status == 200
        assert response_headers["access-control-allow-origin"] == shop_origin
        assert response_headers["access-control-allow-methods"] == "POST, OPTIONS"
        assert response_headers["access-control-allow-headers"] == "x-shop-build"


# Digest empties the queue: the other tests' read of it must come first,
# whatever order the tests run in.
@pytest.mark.usefixtures("queued_events")
def test_it_digests_both_browser_errors_into_one_issue(
    page_runs, fixtrail_server, shop_origin
):
    event_ids = [run.event_id for run in page_runs.values()]
    result = fixtrail_server.digest(event_ids)
    assert result["processing_errors"] == []
    issues = [result["issues"][event_id] for event_id in event_ids]
    assert issues[0] == issues[1]
    assert {
        key: issues[0][key]
        for key in ("title", "type", "culprit", "level", "platform", "times_seen")
    } == {
        "title": "TypeError: basket B-7 has no items",
        "type": "TypeError",
        "culprit": f"{shop_origin}/browser_app.js in renderBasket",
        "level": "error",
        "platform": "javascript",
        "times_seen": 2,
    }
