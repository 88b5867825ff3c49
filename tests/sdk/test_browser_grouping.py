"""Grouping version 2 end to end: the real @sentry/browser in Chromium and
the corpus's Edge, Firefox and Safari events of the same error land in one
issue; the same page opened from a file is another.

The page is the corpus's test.html rebuilt (the same functions calling each
other the same way: a method, ``eval``, ``Array.map`` with an anonymous
callback, an object's ``callback``, ``callAnotherThing``, then ``aha``
throwing ``Error("bad")``), served as /test.html over http. The corpus files
(../shared/corpus/sdk-events/sentry/javascript-xbrowser-http-*.json) are
posted to the same server's store endpoint; the server's digest then says
which issue each event went to.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import orjson
import pytest

from tests.conftest import CORPUS_DIR
from tests.sdk.conftest import JS_DIR, SUBPROCESS_TIMEOUT_SECONDS, FixtrailServer
from tests.sdk.test_browser_sdk import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _load_shop_page,
    _ShopPageHandler,
)

pytestmark = [pytest.mark.live, pytest.mark.browser]

APP = JS_DIR / "xbrowser_app.js"
# Seconds a store request may take.
STORE_TIMEOUT_SECONDS = 10

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>test</title>
<link rel="icon" href="data:,">
<script type="importmap">{import_map}</script>
<script type="module" src="/xbrowser_app.js"></script>
</head>
<body>
<script>
function callAnotherThing(fn) {{
  fn();
}}
var obj = {{
  callback: function callback() {{
    callAnotherThing(obj.aha);
  }},
  aha: function aha() {{
    throw new Error("bad");
  }}
}};
function test() {{
  [1].map(function () {{
    obj.callback();
  }});
}}
function aha() {{
  eval("test()");
}}
function Foo() {{}}
Foo.prototype.testMethod = function testMethod() {{
  aha();
}};
document.addEventListener("xbrowser", function () {{
  new Foo().testMethod();
}});
</script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def page_origin(js_packages, tmp_path_factory) -> Iterator[str]:
    """Serve test.html and the SDK on a port of their own."""
    import_map = subprocess.run(
        ["node", str(JS_DIR / "import_map.mjs")],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=True,
    ).stdout.strip()
    root = tmp_path_factory.mktemp("xbrowser")
    (root / "test.html").write_text(_PAGE.format(import_map=import_map))
    (root / "xbrowser_app.js").symlink_to(APP)
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


def _store(server: FixtrailServer, name: str) -> str:
    """Post a corpus event to the server's store endpoint as an SDK would,
    with a fresh id and time; return the event id."""
    event = orjson.loads((CORPUS_DIR / "sentry" / name).read_bytes())
    event["event_id"] = uuid.uuid4().hex
    event["timestamp"] = time.time()
    key = urlsplit(server.project["dsn"]).username
    request = urllib.request.Request(
        f"{server.url}/api/{server.project['project_id']}/store/"
        f"?sentry_key={key}&sentry_version=7",
        data=orjson.dumps(event),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=STORE_TIMEOUT_SECONDS) as response:
        assert response.status == 200
    return event["event_id"]


@pytest.fixture(scope="module")
def issues_by_event(fixtrail_server, page_origin) -> dict[str, dict]:
    """Load the page in Chromium, post the corpus events, digest; return
    the issue of each event by browser name."""
    if not CORPUS_DIR.is_dir():
        pytest.skip("../shared/corpus/sdk-events is not present")
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    dsn = quote(fixtrail_server.project["dsn"], safe="")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            run = _load_shop_page(
                browser, f"{page_origin}/test.html?dsn={dsn}", fixtrail_server
            )
        finally:
            browser.close()
    ids = {"chromium": run.event_id}
    for browser_name in ("edge", "firefox", "safari"):
        ids[browser_name] = _store(
            fixtrail_server, f"javascript-xbrowser-http-{browser_name}.json"
        )
    ids["file-chrome"] = _store(fixtrail_server, "javascript-xbrowser-chrome.json")
    digested = fixtrail_server.digest(list(ids.values()))
    assert digested["processing_errors"] == []
    return {name: digested["issues"][event_id] for name, event_id in ids.items()}


def test_it_groups_real_chromium_with_the_other_browsers(issues_by_event):
    issue_ids = {
        name: issues_by_event[name]["issue_id"]
        for name in ("chromium", "edge", "firefox", "safari")
    }
    assert len(set(issue_ids.values())) == 1, issue_ids
    assert issues_by_event["chromium"]["times_seen"] == 4
    assert issues_by_event["chromium"]["title"] == "Error: bad"


def test_it_keeps_the_page_opened_from_a_file_apart(issues_by_event):
    assert (
        issues_by_event["file-chrome"]["issue_id"]
        != issues_by_event["chromium"]["issue_id"]
    )
