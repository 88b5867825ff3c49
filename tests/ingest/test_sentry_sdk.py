"""The real Python sentry-sdk sends to a running server; the queue holds what
it sent."""

from __future__ import annotations

import orjson
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef

from tests.ingest.conftest import queued, queued_of_type

pytestmark = pytest.mark.django_db(transaction=True)

# The SDK flushes its background worker within this many seconds at most.
FLUSH_TIMEOUT_SECONDS = 10.0


@pytest.fixture
def dsn(live_server, project_key):
    host = live_server.url.split("://", 1)[1]
    return f"http://{project_key.public_key}@{host}/{project_key.project_id}"


@pytest.fixture
def start_sdk(dsn):
    """Initialise the SDK against the live server; close it afterwards."""

    def start(compression: str | None = None) -> sentry_sdk.Client:
        experiments = {}
        if compression is not None:
            experiments["transport_compression_algo"] = compression
        sentry_sdk.init(
            dsn=dsn,
            # The test process runs Django and logs: keep the SDK from
            # hooking into either, so it sends only what the test captures.
            default_integrations=False,
            auto_enabling_integrations=False,
            release="shop@1.2.3",
            environment="test",
            _experiments=experiments,
        )
        return sentry_sdk.get_client()

    yield start
    sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_SECONDS)
    sentry_sdk.init()


def _raise_and_capture() -> str:
    try:
        {}["missing"]
    except KeyError:
        return sentry_sdk.capture_exception()
    raise AssertionError("unreachable: the lookup above always raises")


@pytest.mark.parametrize("compression", ["gzip", "br"])
def test_it_receives_an_exception(start_sdk, compression):
    client = start_sdk(compression)
    # The option is experimental; make sure the SDK really compresses so.
    assert client.transport._compression_algo == compression
    event_id = _raise_and_capture()
    client.flush(timeout=FLUSH_TIMEOUT_SECONDS)
    [(header, payload)] = queued_of_type("event")
    assert header["event_id"] == event_id
    event = orjson.loads(payload)
    assert event["event_id"] == event_id
    assert event["exception"]["values"][0]["type"] == "KeyError"
    assert event["release"] == "shop@1.2.3"
    # The SDK sends sent_at: the drift is tiny against the same clock.
    assert abs(header["clock_drift"]) < 5.0


def test_it_receives_a_message(start_sdk):
    client = start_sdk()
    event_id = sentry_sdk.capture_message("checkout is slow", level="warning")
    client.flush(timeout=FLUSH_TIMEOUT_SECONDS)
    [(header, payload)] = queued_of_type("event")
    assert header["event_id"] == event_id
    event = orjson.loads(payload)
    assert event["message"] == "checkout is slow"
    assert event["level"] == "warning"


def test_it_receives_attachments(start_sdk, settings):
    client = start_sdk("br")
    # In a scope of its own: an attachment left on the process's isolation
    # scope would ride along with every later test's events.
    with sentry_sdk.isolation_scope() as scope:
        scope.add_attachment(bytes=b"last log lines\n", filename="app.log")
        event_id = sentry_sdk.capture_message("with a log")
    client.flush(timeout=FLUSH_TIMEOUT_SECONDS)
    items = queued()
    attachments = [header for header, _ in items if header["type"] == "attachment"]
    assert [header["filename"] for header in attachments] == ["app.log"]
    assert attachments[0]["event_id"] == event_id
    stored = settings.FIXTRAIL_DATA_DIR / "attachments" / attachments[0]["path"]
    assert stored.read_bytes() == b"last log lines\n"
    assert [header["event_id"] for header, _ in items if header["type"] == "event"] == [
        event_id
    ]


@pytest.mark.parametrize("item_type", ["user_report", "feedback"])
def test_it_receives_user_feedback(start_sdk, item_type):
    client = start_sdk("gzip")
    event_id = sentry_sdk.capture_message("something broke")
    if item_type == "user_report":
        payload = {"event_id": event_id, "name": "Ann", "comments": "It broke"}
        envelope_id = event_id
    else:
        envelope_id = "b" * 32
        payload = {
            "event_id": envelope_id,
            "contexts": {
                "feedback": {"message": "It broke", "associated_event_id": event_id}
            },
        }
    envelope = Envelope(headers={"event_id": envelope_id})
    envelope.add_item(Item(payload=PayloadRef(json=payload), type=item_type))
    client.transport.capture_envelope(envelope)
    client.flush(timeout=FLUSH_TIMEOUT_SECONDS)
    [(header, body)] = queued_of_type(item_type)
    assert header["event_id"] == envelope_id
    assert orjson.loads(body) == payload
