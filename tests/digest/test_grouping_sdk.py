"""Grouping of events made by the real Python SDK (sentry-sdk), in process.

Application code is compiled from source strings under made-up file names,
so a test can move it around (new lines above it) or change it, the way a
deploy would.
"""

from __future__ import annotations

import itertools
import linecache
import logging
import re
from collections.abc import Callable

import orjson
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import EventHandler
from sentry_sdk.transport import Transport

from fixtrail.digest.grouping import compute_grouping
from fixtrail.digest.normalize import normalize_event

DSN = "http://public@fixtrail.invalid/1"
RECEIVED_AT = 1735787045.0

PRICING = """
def checkout(order_id):
    return price(order_id)


def price(order_id):
    raise ValueError(f"order {order_id} not found")


def refund(order_id):
    raise ValueError(f"order {order_id} not found")


def lookup(order_id):
    raise KeyError(f"order-{order_id}")


def walk(depth, order_id):
    if depth == 0:
        return price(order_id)
    return walk(depth - 1, order_id)


def fail_in_lambda(order_id):
    return (lambda x: price(x))(order_id)
"""


BUILDS = itertools.count(1)


def load_module(source: str, *, name: str = "shop.pricing", padding: int = 0) -> dict:
    """Compile ``source`` as module ``name``; ``padding`` blank lines move it down.

    Each load is a new build in its own directory, since the SDK reads source
    lines by file name when it captures.
    """
    text = "\n" * padding + source
    filename = f"/srv/build-{next(BUILDS)}/{name.replace('.', '/')}.py"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace: dict = {"__name__": name}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102
    return namespace


class CollectingTransport(Transport):
    """Keep the event payloads the SDK would have sent, as the bytes it sends."""

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.headers.get("type") == "event":
                self.events.append(orjson.loads(item.payload.get_bytes()))


def make_client(**options) -> tuple[sentry_sdk.Client, CollectingTransport]:
    client = sentry_sdk.Client(
        dsn=DSN,
        transport=CollectingTransport,
        default_integrations=False,
        send_client_reports=False,
        # Only the code under test is in-app, as in a real deployment.
        in_app_include=["shop"],
        in_app_exclude=["tests"],
        project_root="/srv/shop",
        include_local_variables=True,
        **{"release": "shop@1.0", "server_name": "web-1", **options},
    )
    return client, client.transport


def capture(action: Callable[[], object], **options) -> dict:
    """Run ``action`` and return the event a real SDK client makes of its error."""
    client, transport = make_client(**options)
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            action()
        except Exception as error:
            sentry_sdk.capture_exception(error)
    client.close()
    assert len(transport.events) == 1
    return transport.events[0]


def group_hash(event: dict) -> str:
    normalized = normalize_event(event, received_at=RECEIVED_AT)
    return compute_grouping(normalized.data, version=1).hash


@pytest.fixture(scope="module")
def pricing():
    return load_module(PRICING)


def test_it_groups_the_same_bug_with_different_ids_and_messages(pricing):
    first = capture(lambda: pricing["checkout"](1))
    second = capture(lambda: pricing["checkout"](98765))

    assert (
        first["exception"]["values"][0]["value"]
        != second["exception"]["values"][0]["value"]
    )
    assert group_hash(first) == group_hash(second)


def test_it_groups_the_same_bug_after_the_code_moved(pricing):
    moved = load_module(PRICING, padding=40)
    before = capture(lambda: pricing["checkout"](1))
    after = capture(lambda: moved["checkout"](1))

    lines = [
        f["lineno"] for f in after["exception"]["values"][0]["stacktrace"]["frames"]
    ]
    assert lines[-1] == 47
    assert group_hash(before) == group_hash(after)


def test_it_groups_the_same_bug_across_releases_and_hosts(pricing):
    first = capture(
        lambda: pricing["checkout"](1), release="shop@1.0", server_name="web-1"
    )
    second = capture(
        lambda: pricing["checkout"](2), release="shop@2.5", server_name="db-9"
    )

    assert group_hash(first) == group_hash(second)


def test_it_groups_recursion_at_any_depth(pricing):
    shallow = capture(lambda: pricing["walk"](2, 1))
    deep = capture(lambda: pricing["walk"](30, 1))

    assert group_hash(shallow) == group_hash(deep)


def test_it_separates_the_same_message_from_different_call_sites(pricing):
    from_price = capture(lambda: pricing["price"](1))
    from_refund = capture(lambda: pricing["refund"](1))

    assert group_hash(from_price) != group_hash(from_refund)


def test_it_separates_different_types_from_the_same_caller(pricing):
    value_error = capture(lambda: pricing["price"](1))
    key_error = capture(lambda: pricing["lookup"](1))

    assert group_hash(value_error) != group_hash(key_error)


def test_it_separates_a_changed_line_of_code(pricing):
    changed = load_module(
        PRICING.replace('raise ValueError(f"order', 'raise ValueError(f"Order')
    )

    assert group_hash(capture(lambda: pricing["price"](1))) != group_hash(
        capture(lambda: changed["price"](1))
    )


def test_it_uses_a_custom_fingerprint(pricing):
    def with_fingerprint(action):
        def run():
            sentry_sdk.get_current_scope().fingerprint = ["pricing-failures"]
            action()

        return run

    price_error = capture(with_fingerprint(lambda: pricing["price"](1)))
    lookup_error = capture(with_fingerprint(lambda: pricing["lookup"](1)))
    plain = capture(lambda: pricing["price"](1))

    assert price_error["fingerprint"] == ["pricing-failures"]
    assert group_hash(price_error) == group_hash(lookup_error)
    assert group_hash(price_error) != group_hash(plain)


def test_it_refines_the_default_grouping_with_a_fingerprint(pricing):
    def tenant(name):
        def run():
            sentry_sdk.get_current_scope().fingerprint = ["{{ default }}", name]
            pricing["price"](1)

        return run

    acme = capture(tenant("acme"))
    again = capture(tenant("acme"))
    globex = capture(tenant("globex"))

    assert group_hash(acme) == group_hash(again)
    assert group_hash(acme) != group_hash(globex)


def test_it_treats_a_lambda_like_any_other_frame(pricing):
    first = capture(lambda: pricing["fail_in_lambda"](1))
    second = capture(lambda: pricing["fail_in_lambda"](2))

    assert group_hash(first) == group_hash(second)


def capture_log(emit: Callable[[logging.Logger], None]) -> dict:
    client, transport = make_client()
    logger = logging.getLogger("shop.orders.test")
    logger.propagate = False
    handler = EventHandler(level=logging.ERROR)
    logger.addHandler(handler)
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            emit(logger)
    finally:
        logger.removeHandler(handler)
    client.close()
    assert len(transport.events) == 1
    return transport.events[0]


def test_it_groups_log_messages_by_their_template():
    first = capture_log(lambda log: log.error("order %s failed for %s", 1, "jane"))
    second = capture_log(lambda log: log.error("order %s failed for %s", 2, "bob"))
    other = capture_log(lambda log: log.error("refund %s failed for %s", 1, "jane"))

    assert first["logentry"]["message"] == "order %s failed for %s"
    assert group_hash(first) == group_hash(second)
    assert group_hash(first) != group_hash(other)


def test_it_groups_formatted_log_messages_by_their_variable_parts():
    first = capture_log(
        lambda log: log.error(f"order {1234} failed at 2025-01-02 03:04:05")
    )
    second = capture_log(
        lambda log: log.error(f"order {99} failed at 2025-02-03 04:05:06")
    )

    assert group_hash(first) == group_hash(second)


def test_it_hashes_to_32_hex_digits(pricing):
    assert re.fullmatch(
        r"[0-9a-f]{32}", group_hash(capture(lambda: pricing["price"](1)))
    )
