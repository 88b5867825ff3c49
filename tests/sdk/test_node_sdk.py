"""The real @sentry/node SDK (from npm, run by Node.js) reporting to a
running Fixtrail: what it sends is answered 200, lands in the queue as the
SDK built it, and digests into issues.

One run of tests/sdk/js/node_app.mjs per module feeds every test here: it
captures an exception thrown by a named function, a message, and an event
large enough for the SDK to gzip it, under a release, a user and a tag.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sdk.conftest import JS_DIR, SUBPROCESS_TIMEOUT_SECONDS, FixtrailServer

pytestmark = pytest.mark.live

APP = JS_DIR / "node_app.mjs"
SDK_VERSION = json.loads((JS_DIR / "package.json").read_text())["dependencies"][
    "@sentry/node"
]
# node_app.mjs pads its large event's "extra" with this many bytes, above
# the SDK's 32 KiB gzip threshold.
LARGE_EVENT_EXTRA_BYTES = 48 * 1024


@dataclass
class NodeRun:
    """What node_app.mjs reported and what reached the server's queue."""

    report: dict[str, Any]
    events: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    server: FixtrailServer

    def event(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (queue header, payload) of the event the app named."""
        event_id = self.report[name]
        assert event_id in self.events, (
            f"event {event_id} ({name}) is not in the queue; server log:\n"
            + self.server.log()
        )
        return self.events[event_id]


@pytest.fixture(scope="module")
def node_run(js_packages, fixtrail_server) -> NodeRun:
    """Run node_app.mjs once against the module's server; return its report
    and the events the queue holds afterwards."""
    env = {
        # Only what a deployment would set: the DSN. Nothing else from the
        # test process's environment (a SENTRY_RELEASE, say) reaches the SDK.
        "PATH": os.environ.get("PATH", ""),
        "SENTRY_DSN": fixtrail_server.project["dsn"],
    }
    result = subprocess.run(
        ["node", str(APP)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    # flush() resolves once every request was answered, so whatever got a
    # 200 is already in the queue.
    assert report["flushed"] is True, fixtrail_server.log()
    return NodeRun(report, fixtrail_server.queued_events(), fixtrail_server)


def _line_of(text: str) -> int:
    """Return the 1-based line of node_app.mjs that contains ``text``."""
    lines = APP.read_text().splitlines()
    matches = [number for number, line in enumerate(lines, 1) if text in line]
    assert len(matches) == 1, f"{text!r} is on lines {matches}"
    return matches[0]


def test_it_queues_the_exception_with_the_frame_that_threw(node_run):
    header, event = node_run.event("exception")
    assert header["type"] == "event"
    assert header["project_id"] == node_run.server.project["project_id"]
    assert header["event_id"] == node_run.report["exception"]
    assert header["client_ip"] == "127.0.0.1"
    assert sorted(header) == [
        "client_ip",
        "clock_drift",
        # The event is over items.COMPRESS_FROM_BYTES: compressed in the queue.
        "encoding",
        "event_id",
        "key_id",
        "project_id",
        "received_at",
        "type",
    ]
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "Error"
    assert exception["value"] == "card declined for order A-1001"
    assert exception["mechanism"] == {"type": "generic", "handled": True}
    frames = exception["stacktrace"]["frames"]
    throw_line = "  throw new Error(`card declined for order ${order.id}`);"
    assert {
        key: frames[-1][key]
        for key in ("filename", "module", "function", "lineno", "in_app")
    } == {
        "filename": str(APP),
        "module": "node_app",
        "function": "chargeCard",
        "lineno": _line_of(throw_line),
        "in_app": True,
    }
    # The SDK's ContextLines integration read the source; it must survive.
    assert frames[-1]["context_line"] == throw_line
    assert frames[-2]["function"] == "?"
    assert frames[-2]["lineno"] == _line_of('  chargeCard({ id: "A-1001" });')


def test_it_queues_the_release_user_and_tags_of_the_scope(node_run):
    _, event = node_run.event("exception")
    assert event["release"] == "shop-api@2.4.1"
    assert event["environment"] == "staging"
    assert event["server_name"] == "api-7"
    assert event["user"] == {"id": "42", "email": "ada@example.org"}
    assert event["tags"] == {"checkout.step": "payment"}
    assert event["platform"] == "node"
    assert event["sdk"]["name"] == "sentry.javascript.node"
    assert event["sdk"]["version"] == SDK_VERSION


def test_it_queues_a_message(node_run):
    header, event = node_run.event("message")
    assert header["project_id"] == node_run.server.project["project_id"]
    assert event["message"] == "inventory sync fell behind"
    assert event["level"] == "warning"
    assert event["release"] == "shop-api@2.4.1"


def test_it_authenticates_the_node_sdk_by_the_sentry_key_parameter(node_run):
    project = node_run.server.project
    public_key = urlsplit(project["dsn"]).username
    requests = node_run.report["requests"]
    # Three events, then the process's session at flush.
    assert len(requests) == 4
    for request in requests:
        url = urlsplit(request["path"])
        assert url.path == f"/api/{project['project_id']}/envelope/"
        assert parse_qs(url.query) == {
            "sentry_version": ["7"],
            "sentry_key": [public_key],
            "sentry_client": [f"sentry.javascript.node/{SDK_VERSION}"],
        }
        assert "x-sentry-auth" not in request["headers"]
        assert "authorization" not in request["headers"]
        assert request["status"] == 200


def test_it_reads_the_chunked_bodies_the_node_sdk_sends(node_run):
    requests = node_run.report["requests"]
    assert [request["chunked"] for request in requests] == [True] * len(requests)
    assert [request["headers"].get("content-length") for request in requests] == [
        None
    ] * len(requests)
    # Each event arrived whole: a body read short would not parse.
    assert sorted(node_run.events) == sorted(
        node_run.report[name] for name in ("exception", "message", "large")
    )


def test_it_inflates_the_gzip_body_of_a_large_node_event(node_run):
    gzipped = [
        request
        for request in node_run.report["requests"]
        if request["headers"].get("content-encoding") == "gzip"
    ]
    assert len(gzipped) == 1
    assert gzipped[0]["status"] == 200
    _, event = node_run.event("large")
    assert event["extra"] == {"rows": "x" * LARGE_EVENT_EXTRA_BYTES}
    assert event["exception"]["values"][0]["type"] == "RangeError"


def test_it_digests_the_node_events_into_issues(node_run):
    names = ("exception", "message", "large")
    result = node_run.server.digest([node_run.report[name] for name in names])
    assert result["processing_errors"] == []
    issues = {name: result["issues"][node_run.report[name]] for name in names}
    assert {
        key: issues["exception"][key]
        for key in ("title", "type", "culprit", "level", "platform", "times_seen")
    } == {
        "title": "Error: card declined for order A-1001",
        "type": "Error",
        "culprit": "node_app in chargeCard",
        "level": "error",
        "platform": "node",
        "times_seen": 1,
    }
    assert {key: issues["message"][key] for key in ("title", "type", "level")} == {
        "title": "inventory sync fell behind",
        "type": "",
        "level": "warning",
    }
    assert {key: issues["large"][key] for key in ("title", "type", "level")} == {
        "title": "RangeError: report too large to render",
        "type": "RangeError",
        "level": "error",
    }
    # Three different errors, three issues.
    assert len({issue["issue_id"] for issue in issues.values()}) == 3
