from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.items import MalformedItem, decode_item, encode_item

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
