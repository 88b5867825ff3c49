"""Grouping driven by the real SDKs: events the Python sentry_sdk and the
Node @sentry/node build, through ingest's request handler and digest.

The same bug raised with different messages, ids, line numbers (code moved),
releases and hosts must land in one issue; the same message from another
call site or with another exception type in another; an SDK fingerprint
overrides both.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import linecache
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from django.conf import settings
from sentry_sdk.transport import Transport

from fixtrail.digest.worker import digest_once
from fixtrail.events.models import Event, ProcessingError
from fixtrail.events.storage import decompress_event
from fixtrail.ingest.endpoints import IngestRequest, handle_ingest
from fixtrail.ingest.keys import forget_keys
from fixtrail.issues.models import Issue
from fixtrail.queue import open_queue

NODE_TIMEOUT_SECONDS = 60


def _ingest(body: bytes, public_key: str, project_id: int) -> None:
    """Post one serialized envelope to ingest, as the SDK's HTTP call would."""
    response = handle_ingest(
        IngestRequest(
            method="POST",
            endpoint="envelope",
            project_id=project_id,
            headers={"x-sentry-auth": f"Sentry sentry_key={public_key}"},
            query_string="",
            body=io.BytesIO(body),
            content_length=len(body),
            client_ip="203.0.113.9",
        )
    )
    assert response.status == 200, response.body


class IngestTransport(Transport):
    """Hands each envelope the SDK sends straight to ingest's handler."""

    def capture_envelope(self, envelope) -> None:
        dsn = self.parsed_dsn
        _ingest(envelope.serialize(), dsn.public_key, int(dsn.project_id))


def _digest() -> None:
    queue = open_queue(settings.QUEUE_URL)
    try:
        while digest_once(queue, "sdk-test", 500):
            pass
    finally:
        queue.close()
    assert list(ProcessingError.objects.values_list("error", flat=True)) == []


@pytest.fixture
def dsn(project_key):
    forget_keys()
    yield project_key.dsn
    forget_keys()


@pytest.fixture
def python_sdk(dsn):
    """Return start(release, host): (re)initialize the Python SDK."""

    def start(release: str = "shop@1.0", host: str = "web-1") -> None:
        sentry_sdk.init(
            dsn=dsn,
            transport=IngestTransport,
            release=release,
            server_name=host,
            environment="production",
            # The test process runs Django: keep the SDK out of its logging
            # and threads, so it sends only what the test captures.
            default_integrations=False,
            auto_enabling_integrations=False,
            in_app_include=["sdkshop"],
        )

    yield start
    sentry_sdk.get_client().close()
    sentry_sdk.init()


# A module of the application under test, with room for code to move.
_SHOP_SOURCE = """\
{padding}
def find_order(order_id):
    orders = {{"known": 1}}
    return orders[order_id]


def checkout(order_id, kind=ValueError):
    total = order_id * 3
    raise kind(f"order {{order_id}} could not be paid (total {{total}})")


def refund(order_id, kind=ValueError):
    raise kind(f"order {{order_id}} could not be paid (total {{order_id * 3}})")
"""


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """Return write(padding_lines) -> the freshly (re)loaded shop module."""
    package = tmp_path / "sdkshop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(padding_lines: int = 0):
        path = package / "orders.py"
        path.write_text(_SHOP_SOURCE.format(padding="# moved\n" * padding_lines))
        linecache.checkcache(str(path))
        if "sdkshop.orders" in sys.modules:
            return importlib.reload(sys.modules["sdkshop.orders"])
        return importlib.import_module("sdkshop.orders")

    yield write
    for name in ("sdkshop.orders", "sdkshop"):
        sys.modules.pop(name, None)


def _capture(function, *args, fingerprint: list[str] | None = None) -> str:
    with sentry_sdk.new_scope() as scope:
        if fingerprint is not None:
            scope.fingerprint = fingerprint
        try:
            function(*args)
        except Exception:
            return sentry_sdk.capture_exception()
    raise AssertionError("unreachable: the shop functions always raise")


def _frames(event: Event) -> list[dict]:
    data = decompress_event(event.data)
    return data["exception"]["values"][-1]["stacktrace"]["frames"]


def test_it_groups_one_python_bug_however_it_varies(project, python_sdk, shop):
    orders = shop()
    python_sdk(release="shop@1.0", host="web-1")
    _capture(orders.checkout, 17)
    _capture(orders.checkout, 4242)
    orders = shop(padding_lines=7)
    python_sdk(release="shop@1.1", host="web-2")
    _capture(orders.checkout, 99)

    _digest()

    issue = Issue.objects.get()
    assert issue.times_seen == 3
    events = list(Event.objects.order_by("id"))
    # The variations really happened: values, lines, releases and hosts.
    assert {decompress_event(e.data)["server_name"] for e in events} == {
        "web-1",
        "web-2",
    }
    assert {e.release for e in events} == {"shop@1.0", "shop@1.1"}
    assert len({_frames(e)[-1]["lineno"] for e in events}) == 2
    assert len({e.title for e in events}) == 3


def test_it_separates_other_call_sites_and_types(project, python_sdk, shop):
    orders = shop()
    python_sdk()
    _capture(orders.checkout, 1)
    _capture(orders.refund, 1)
    _capture(orders.checkout, 1, TypeError)
    _capture(orders.find_order, "missing")

    _digest()

    assert sorted(Issue.objects.values_list("type", flat=True)) == [
        "KeyError",
        "TypeError",
        "ValueError",
        "ValueError",
    ]


def test_it_lets_a_python_fingerprint_override_grouping(project, python_sdk, shop):
    orders = shop()
    python_sdk()
    _capture(orders.checkout, 1, fingerprint=["payments"])
    _capture(orders.find_order, "x", fingerprint=["payments"])
    _capture(orders.checkout, 2, fingerprint=["{{ default }}", "eu"])
    _capture(orders.checkout, 3, fingerprint=["{{ default }}", "us"])
    _capture(orders.checkout, 4)

    _digest()

    assert sorted(Issue.objects.values_list("times_seen", flat=True)) == [1, 1, 1, 2]


def test_it_groups_python_messages_by_their_parameterized_text(project, python_sdk):
    python_sdk()
    sentry_sdk.capture_message("user 42 logged out after 15 s")
    sentry_sdk.capture_message("user 7 logged out after 3 s")
    sentry_sdk.capture_message("cache warmed up")

    _digest()

    assert sorted(Issue.objects.values_list("times_seen", flat=True)) == [1, 2]


# -- Node ---------------------------------------------------------------------

_NODE_DRIVER = """\
import * as Sentry from "@sentry/node";

const [dsn, planJson] = process.argv.slice(2);
const transport = (options) =>
  Sentry.createTransport(options, async (request) => {
    process.stdout.write(Buffer.from(request.body).toString("base64") + "\\n");
    return { statusCode: 200 };
  });
for (const step of JSON.parse(planJson)) {
  Sentry.init({
    dsn,
    transport,
    release: step.release,
    serverName: step.host,
    defaultIntegrations: false,
    integrations: [Sentry.contextLinesIntegration()],
  });
  const shop = await import("./shop.mjs");
  try {
    shop[step.fn](step.arg);
  } catch (error) {
    Sentry.withScope((scope) => {
      if (step.fingerprint) scope.setFingerprint(step.fingerprint);
      Sentry.captureException(error);
    });
  }
  await Sentry.flush(5000);
}
"""

_NODE_SHOP = """\
{padding}
export function checkout(orderId) {{
  const total = orderId * 3;
  throw new Error(`order ${{orderId}} could not be paid (total ${{total}})`);
}}

export function refund(orderId) {{
  throw new Error(`order ${{orderId}} could not be paid (total ${{orderId * 3}})`);
}}

export function lookup(orderId) {{
  throw new TypeError(`order ${{orderId}} could not be paid (total 0)`);
}}
"""


@pytest.fixture
def node_modules(js_packages: Path) -> Path:
    """The pinned @sentry/node from tests/sdk/js (see conftest.js_packages)."""
    return js_packages


def _run_node(
    tmp_path: Path, node_modules: Path, dsn: str, plan: list[dict], padding: int = 0
) -> None:
    """Run the plan under @sentry/node and ingest the envelopes it sends;
    ``padding`` lines above the shop's code move it down."""
    link = tmp_path / "node_modules"
    if not link.exists():
        link.symlink_to(node_modules, target_is_directory=True)
    (tmp_path / "driver.mjs").write_text(_NODE_DRIVER)
    (tmp_path / "shop.mjs").write_text(
        _NODE_SHOP.format(padding="// moved\n" * padding)
    )
    run = subprocess.run(
        ["node", "driver.mjs", dsn, json.dumps(plan)],
        cwd=tmp_path,
        capture_output=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=True,
    )
    lines = run.stdout.decode().split()
    assert len(lines) == len(plan), run.stderr.decode()
    public_key = dsn.split("//", 1)[1].split("@", 1)[0]
    project_id = int(dsn.rsplit("/", 1)[1])
    for line in lines:
        _ingest(base64.b64decode(line), public_key, project_id)


def _step(fn: str, arg: int, **extra) -> dict:
    return {"fn": fn, "arg": arg, "release": "web@1.0", "host": "node-1", **extra}


def test_it_groups_one_node_bug_however_it_varies(project, dsn, tmp_path, node_modules):
    _run_node(
        tmp_path,
        node_modules,
        dsn,
        [
            _step("checkout", 17),
            _step("checkout", 4242, release="web@1.1", host="node-2"),
        ],
    )
    # The same code moved down by five lines, in a newer build.
    _run_node(
        tmp_path, node_modules, dsn, [_step("checkout", 99, release="web@1.2")], 5
    )

    _digest()

    issue = Issue.objects.get()
    assert issue.times_seen == 3
    events = list(Event.objects.order_by("id"))
    assert {e.release for e in events} == {"web@1.0", "web@1.1", "web@1.2"}
    assert {decompress_event(e.data)["server_name"] for e in events} == {
        "node-1",
        "node-2",
    }
    assert len({_frames(e)[-1]["lineno"] for e in events}) == 2
    assert issue.platform == "node"


def test_it_separates_node_call_sites_and_types(project, dsn, tmp_path, node_modules):
    plan = [_step("checkout", 1), _step("refund", 1), _step("lookup", 1)]

    _run_node(tmp_path, node_modules, dsn, plan)
    _digest()

    assert Issue.objects.count() == 3


def test_it_lets_a_node_fingerprint_override_grouping(
    project, dsn, tmp_path, node_modules
):
    plan = [
        _step("checkout", 1, fingerprint=["billing"]),
        _step("lookup", 2, fingerprint=["billing"]),
        _step("refund", 3),
    ]

    _run_node(tmp_path, node_modules, dsn, plan)
    _digest()

    assert sorted(Issue.objects.values_list("times_seen", flat=True)) == [1, 2]
