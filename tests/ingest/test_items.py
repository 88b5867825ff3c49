from __future__ import annotations

import io

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.items import (
    MAX_PAYLOAD_BYTES,
    MalformedItem,
    decode_item,
    encode_item,
    item_payload,
)

HEADER = {
    "type": "event",
    "project_id": 1,
    "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
    "received_at": 1714557600.25,
    "clock_drift": 0.0,
    "client_ip": None,
    "key_id": 3,
}


def test_it_encodes_a_header_line_then_the_payload():
    body = encode_item({"type": "event", "project_id": 1}, b'{"a":1}\n{"b":2}')
    assert body == b'{"type":"event","project_id":1}\n{"a":1}\n{"b":2}'


def test_it_decodes_what_it_encodes():
    payload = b'{"message":"line one\\nline two"}\n\r\n'
    assert decode_item(encode_item(HEADER, payload)) == (HEADER, payload)


def test_it_decodes_an_empty_payload():
    assert decode_item(b'{"type":"attachment"}\n') == ({"type": "attachment"}, b"")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"type":"event"}', "^queue message has no header line$"),
        (b"nope\n{}", "^queue message header is not valid JSON$"),
        (b"[1]\n{}", "^queue message header is not an object with a type$"),
        (b'{"type":1}\n{}', "^queue message header is not an object with a type$"),
    ],
)
def test_it_rejects_malformed_messages(body, message):
    with pytest.raises(MalformedItem, match=message):
        decode_item(body)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=5),
    st.binary(max_size=500),
)
def test_it_round_trips_any_header_and_payload(extra, payload):
    header = {**extra, "type": "event"}
    assert decode_item(encode_item(header, payload)) == (header, payload)


def test_it_leaves_a_small_payload_as_it_is():
    body = encode_item({"type": "event"}, b'{"message":"hi"}')
    header, payload = decode_item(body)
    assert "encoding" not in header
    assert payload == item_payload(header, payload) == b'{"message":"hi"}'


def test_it_compresses_a_large_payload_in_the_queue():
    event = b'{"breadcrumbs":[' + b'{"message":"GET /cart 200"},' * 200 + b"{}]}"
    header, payload = decode_item(encode_item({"type": "event"}, event))
    assert header == {"type": "event", "encoding": "zstd"}
    assert len(payload) < len(event) / 5
    assert item_payload(header, payload) == event


def _zeros_frame(size: int) -> bytes:
    """A small zstd frame that says it holds ``size`` zero bytes."""
    out = io.BytesIO()
    writer = zstandard.ZstdCompressor().stream_writer(out, size=size, closefd=False)
    chunk = bytes(1024 * 1024)
    for _ in range(size // len(chunk)):
        writer.write(chunk)
    writer.close()
    return out.getvalue()


def test_it_refuses_a_damaged_compressed_payload():
    with pytest.raises(MalformedItem, match="damaged"):
        item_payload({"type": "event", "encoding": "zstd"}, b"not zstd at all")


def test_it_refuses_a_payload_that_claims_more_than_any_item_can_be():
    bomb = _zeros_frame(MAX_PAYLOAD_BYTES + 1024 * 1024)
    assert len(bomb) < 100_000
    with pytest.raises(MalformedItem, match="too large"):
        item_payload({"type": "event", "encoding": "zstd"}, bomb)
