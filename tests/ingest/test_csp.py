from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.csp import MAX_FIELD_LENGTH, MAX_REPORTS, events_from_report
from fixtrail.ingest.exceptions import BadRequest

NOW = 1714557600.0


def _ids():
    counter = itertools.count()
    return lambda: f"{next(counter):032x}"


def _events(body: bytes, **kwargs):
    return events_from_report(
        body,
        new_event_id=_ids(),
        now=NOW,
        user_agent=kwargs.pop("user_agent", None),
        **kwargs,
    )


def _legacy(**fields) -> bytes:
    return orjson.dumps({"csp-report": fields})


def test_it_builds_an_event_from_a_legacy_report():
    body = _legacy(
        **{
            "document-uri": "https://shop.example/cart",
            "effective-directive": "script-src-elem",
            "violated-directive": "script-src-elem",
            "blocked-uri": "https://cdn.evil.example/x.js?v=1",
            "line-number": 12,
            "script-sample": "",
            "unknown-field": "dropped",
        }
    )
    [event] = _events(
        body, user_agent="Firefox/130", environment="prod", release="shop@2"
    )
    assert event == {
        "event_id": "0" * 32,
        "timestamp": NOW,
        "platform": "other",
        "level": "error",
        "logger": "csp",
        "logentry": {
            "formatted": "Blocked https://cdn.evil.example by script-src-elem"
        },
        "culprit": "script-src-elem",
        "tags": [
            ["effective-directive", "script-src-elem"],
            ["blocked-uri", "https://cdn.evil.example"],
        ],
        "csp": {
            "document_uri": "https://shop.example/cart",
            "effective_directive": "script-src-elem",
            "violated_directive": "script-src-elem",
            "blocked_uri": "https://cdn.evil.example/x.js?v=1",
            "line_number": 12,
            "script_sample": "",
        },
        "request": {
            "url": "https://shop.example/cart",
            "headers": [["User-Agent", "Firefox/130"]],
        },
        "environment": "prod",
        "release": "shop@2",
    }


@pytest.mark.parametrize(
    ("fields", "message", "culprit"),
    [
        ({"effective-directive": "script-src", "blocked-uri": "inline"},
         "Blocked inline code by script-src", "script-src"),
        ({"effective-directive": "script-src", "blocked-uri": "eval"},
         "Blocked eval() by script-src", "script-src"),
        ({"violated-directive": "img-src 'self' data:", "blocked-uri": "data"},
         "Blocked data by img-src", "img-src"),
        ({"blocked-uri": ""}, "Blocked a resource by unknown-directive",
         "unknown-directive"),
    ],
)  # fmt: skip
def test_it_names_what_was_blocked(fields, message, culprit):
    [event] = _events(_legacy(**fields))
    assert event["logentry"] == {"formatted": message}
    assert event["culprit"] == culprit


def test_it_builds_one_event_per_reporting_api_violation():
    violation = {
        "type": "csp-violation",
        "body": {
            "documentURL": "https://shop.example/",
            "effectiveDirective": "img-src",
            "blockedURL": "https://img.evil.example/a.png",
            "lineNumber": 3,
        },
    }
    body = orjson.dumps([violation, {"type": "deprecation", "body": {}}, violation])
    events = _events(body)
    assert [event["event_id"] for event in events] == ["0" * 32, f"{1:032x}"]
    assert events[0]["csp"] == {
        "document_uri": "https://shop.example/",
        "effective_directive": "img-src",
        "blocked_uri": "https://img.evil.example/a.png",
        "line_number": 3,
    }


def test_it_truncates_long_fields():
    [event] = _events(_legacy(**{"document-uri": "https://a.example/" + "x" * 5000}))
    assert len(event["csp"]["document_uri"]) == MAX_FIELD_LENGTH


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "^security report is not valid JSON$"),
        (b'{"expect-ct-report": {}}', "^security report is not a CSP report$"),
        (b"[]", "^security report holds no CSP violation$"),
        (b'[{"type": "deprecation", "body": {}}]', "^security report holds no CSP"),
        (
            orjson.dumps([{}] * (MAX_REPORTS + 1)),
            f"^security report holds more than {MAX_REPORTS} reports$",
        ),
    ],
)
def test_it_rejects_other_reports(body, message):
    with pytest.raises(BadRequest, match=message):
        _events(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_it_builds_or_rejects_any_body_cleanly(body):
    try:
        events = _events(body)
    except BadRequest:
        return
    assert all(event["logger"] == "csp" for event in events)
