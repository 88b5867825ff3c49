from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.envelope import (
    MAX_HEADER_LINE_BYTES,
    normalize_event_id,
    parse_envelope,
    parse_sent_at,
)
from fixtrail.ingest.exceptions import BadRequest

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
DASHED_EVENT_ID = "9ec79c33-ec99-42ab-8353-589fcb2e04dc"
OTHER_ID = "12c2d058d58442709aa2eca08bf20986"


def test_it_parses_the_module_docstring_example():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc",'
        b'"sent_at":"2024-05-01T10:00:00Z"}\n'
        b'{"type":"event","length":35}\n'
        b'{"message":"hello","level":"error"}\n'
        b'{"type":"attachment","length":13,"filename":"log.txt"}\n'
        b"line 1\nline 2\n"
        b'{"type":"session"}\n'
        b'{"sid":"4c79f60c11214eb38604f4ae0781bfb2","status":"exited"}\n'
    )
    envelope = parse_envelope(data)
    assert envelope.event_id == EVENT_ID
    assert envelope.sent_at == 1714557600.0
    assert [item.type for item in envelope.items] == ["event", "attachment", "session"]
    assert envelope.items[0].payload == b'{"message":"hello","level":"error"}'
    assert envelope.items[1].payload == b"line 1\nline 2"
    assert envelope.items[2].payload == (
        b'{"sid":"4c79f60c11214eb38604f4ae0781bfb2","status":"exited"}'
    )


def test_it_keeps_a_crlf_inside_a_measured_payload():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc",'
        b'"dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"}\n'
        b'{"type":"attachment","length":10,"content_type":"text/plain",'
        b'"filename":"hello.txt"}\n'
        b"\xef\xbb\xbfHello\r\n\n"
        b'{"type":"event","length":41,"content_type":"application/json"}\n'
        b'{"message":"hello world","level":"error"}\n'
    )
    envelope = parse_envelope(data)
    assert envelope.dsn == "https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"
    assert envelope.items[0].payload == b"\xef\xbb\xbfHello\r\n"
    assert envelope.items[1].payload == b'{"message":"hello world","level":"error"}'


def test_it_accepts_a_missing_final_newline():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"event","length":2}\n'
        b"{}"
    )
    envelope = parse_envelope(data)
    assert [(item.type, item.payload) for item in envelope.items] == [("event", b"{}")]


def test_it_parses_empty_measured_attachments():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"attachment","length":0}\n'
        b"\n"
        b'{"type":"attachment","length":0}\n'
        b"\n"
    )
    envelope = parse_envelope(data)
    assert [item.payload for item in envelope.items] == [b"", b""]


def test_it_parses_empty_measured_attachments_without_final_newline():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"attachment","length":0}\n'
        b"\n"
        b'{"type":"attachment","length":0}\n'
    )
    envelope = parse_envelope(data)
    assert [item.payload for item in envelope.items] == [b"", b""]


def test_it_reads_an_implicit_length_payload_to_the_newline():
    data = b'{}\n{"type":"attachment"}\nhelloworld\n'
    assert parse_envelope(data).items[0].payload == b"helloworld"


def test_it_reads_an_implicit_length_payload_to_the_end():
    data = b'{}\n{"type":"attachment"}\nhelloworld'
    assert parse_envelope(data).items[0].payload == b"helloworld"


def test_it_keeps_a_carriage_return_in_an_implicit_payload():
    data = b'{}\n{"type":"attachment"}\nhello\r\n{"type":"session"}\n{}\r\n'
    envelope = parse_envelope(data)
    assert [item.payload for item in envelope.items] == [b"hello\r", b"{}\r"]


def test_it_parses_an_envelope_without_items():
    envelope = parse_envelope(b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}')
    assert envelope.items == []
    assert envelope.event_id == EVENT_ID


def test_it_parses_an_empty_header_with_final_newline():
    envelope = parse_envelope(b"{}\n")
    assert envelope.headers == {}
    assert envelope.items == []
    assert envelope.event_id is None
    assert envelope.sent_at is None
    assert envelope.dsn is None


def test_it_keeps_unknown_item_types():
    data = b'{}\n{"type":"future_thing","length":3,"x":1}\nabc\n'
    item = parse_envelope(data).items[0]
    assert item.type == "future_thing"
    assert item.headers == {"type": "future_thing", "length": 3, "x": 1}
    assert item.payload == b"abc"


def test_it_gives_a_header_at_the_end_an_empty_payload():
    item = parse_envelope(b'{}\n{"type":"attachment"}').items[0]
    assert item.payload == b""


def test_it_skips_blank_lines_between_items():
    data = b'{}\n\n{"type":"session"}\n{}\n\n\n{"type":"session"}\n{}\n'
    assert len(parse_envelope(data).items) == 2


def test_it_normalizes_a_dashed_envelope_event_id():
    envelope = parse_envelope(b'{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC"}')
    assert envelope.event_id == EVENT_ID


def test_it_accepts_an_item_event_id_equal_to_the_envelope_one():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"event","event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc"}\n{}\n'
    )
    assert parse_envelope(data).items[0].type == "event"


def test_it_rejects_an_item_event_id_that_contradicts_the_envelope():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"event","event_id":"12c2d058d58442709aa2eca08bf20986"}\n{}\n'
    )
    with pytest.raises(
        BadRequest,
        match="^item 0 event_id 12c2d058d58442709aa2eca08bf20986 does not match "
        "the envelope event_id 9ec79c33ec9942ab8353589fcb2e04dc$",
    ):
        parse_envelope(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "^empty envelope: expected a header line$"),
        (b"not json\n", "^envelope header is not valid JSON$"),
        (b"[1,2]\n", "^envelope header must be a JSON object$"),
        (b'{"event_id":"nope"}\n', "^envelope event_id must be a UUID, got 'nope'$"),
        (b'{"event_id":12}\n', "^envelope event_id must be a UUID, got 12$"),
        (b'{"dsn":5}\n', "^envelope dsn must be a string$"),
        (b"{}\n{}\nx\n", "^item 0 has no type$"),
        (b'{}\n{"type":""}\nx\n', "^item 0 has no type$"),
        (b'{}\n{"type":7}\nx\n', "^item 0 has no type$"),
        (b'{}\n{"type":"event"\n', "^item 0 header is not valid JSON$"),
        (b'{}\n{"type":"event","length":-1}\nx\n', "^item 0 length must be a"),
        (b'{}\n{"type":"event","length":"3"}\nabc\n', "^item 0 length must be a"),
        (b'{}\n{"type":"event","length":true}\na\n', "^item 0 length must be a"),
        (b'{}\n{"type":"event","length":1.0}\na\n', "^item 0 length must be a"),
        (
            b'{}\n{"type":"event","length":10}\nabc\n',
            "^item 0 is truncated: 10 bytes announced, 4 present$",
        ),
        (
            b'{}\n{"type":"event","length":3}',
            "^item 0 is truncated: 3 bytes announced$",
        ),
        (
            b'{}\n{"type":"event","length":2}\nabc\n',
            "^item 0 payload is not followed by a newline$",
        ),
        (
            b'{}\n{"type":"event","length":2}\nab \n',
            "^item 0 payload is not followed by a newline$",
        ),
        (
            b'{}\n{"type":"session"}\n{}\n{"type":"event","event_id":"x"}\n',
            "^item 1 event_id must be a UUID, got 'x'$",
        ),
        (b"\xff\xfe\n", "^envelope header is not valid JSON$"),
    ],
)
def test_it_rejects_malformed_envelopes(data, message):
    with pytest.raises(BadRequest, match=message):
        parse_envelope(data)


def test_it_rejects_a_header_line_past_the_limit():
    data = b'{"pad":"' + b"a" * MAX_HEADER_LINE_BYTES + b'"}\n'
    with pytest.raises(
        BadRequest,
        match=f"^envelope header is longer than {MAX_HEADER_LINE_BYTES} bytes$",
    ):
        parse_envelope(data)


def test_it_rejects_more_items_than_the_limit():
    data = b"{}\n" + b'{"type":"session"}\n{}\n' * 4
    with pytest.raises(BadRequest, match="^envelope has more than 3 items$"):
        parse_envelope(data, max_items=3)


def test_it_accepts_exactly_the_item_limit():
    data = b"{}\n" + b'{"type":"session"}\n{}\n' * 3
    assert len(parse_envelope(data, max_items=3).items) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (EVENT_ID, EVENT_ID),
        (EVENT_ID.upper(), EVENT_ID),
        (DASHED_EVENT_ID, EVENT_ID),
    ],
)
def test_it_normalizes_event_ids(value, expected):
    assert normalize_event_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "xyz",
        EVENT_ID[:-1],
        EVENT_ID + "0",
        "{" + DASHED_EVENT_ID + "}",
        5,
        [],
        True,
    ],
)
def test_it_rejects_malformed_event_ids(value):
    with pytest.raises(BadRequest, match="^event_id must be a UUID, got "):
        normalize_event_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", 1714557600.0),
        ("2024-05-01T10:00:00.250000+00:00", 1714557600.25),
        ("2024-05-01T12:00:00+02:00", 1714557600.0),
        ("2024-05-01T10:00:00", 1714557600.0),
        (1714557600, 1714557600.0),
        (1714557600.5, 1714557600.5),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        ([], None),
        ("2" * 100, None),
    ],
)
def test_it_reads_sent_at(value, expected):
    assert parse_sent_at(value) == expected


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2048))
def test_it_parses_or_rejects_any_bytes_cleanly(data):
    try:
        envelope = parse_envelope(data)
    except BadRequest as exc:
        assert exc.status == 400
        assert exc.message
        return
    assert isinstance(envelope.headers, dict)
    assert sum(len(item.payload) for item in envelope.items) <= len(data)


_header_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def _envelopes(draw):
    """Build valid envelopes from random items, with and without lengths."""
    items = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["event", "attachment", "session", "x-custom"]),
                st.binary(max_size=200),
                st.booleans(),
            ),
            max_size=6,
        )
    )
    parts = [b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}']
    expected = []
    for item_type, payload, measured in items:
        if not measured:
            payload = payload.replace(b"\n", b"")
            parts.append(b'{"type":"%s"}' % item_type.encode())
        else:
            parts.append(
                b'{"type":"%s","length":%d}' % (item_type.encode(), len(payload))
            )
        parts.append(payload)
        expected.append((item_type, payload))
    final_newline = draw(st.booleans())
    data = b"\n".join(parts) + (b"\n" if final_newline else b"")
    return data, expected


@settings(max_examples=300, deadline=None)
@given(_envelopes())
def test_it_round_trips_generated_envelopes(case):
    data, expected = case
    envelope = parse_envelope(data)
    got = [(item.type, item.payload) for item in envelope.items]
    # An unmeasured empty payload at the very end without a final newline
    # is indistinguishable from a missing one; both read as empty.
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), _header_values, max_size=5))
def test_it_keeps_any_unknown_envelope_headers(headers):
    headers.pop("event_id", None)
    headers.pop("dsn", None)
    envelope = parse_envelope(orjson.dumps(headers) + b"\n")
    assert envelope.headers == headers
