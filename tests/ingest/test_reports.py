from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.reports import (
    MAX_AGGREGATES,
    category_for_item,
    clean_reason,
    client_report_outcomes,
    session_counts,
)

ATTRS = {"release": "app@1.0", "environment": "prod"}


def _json(value) -> bytes:
    return orjson.dumps(value)


def test_it_counts_a_first_session_update_as_started():
    payload = _json({"sid": "a", "init": True, "status": "ok", "attrs": ATTRS})
    assert session_counts("session", payload) == [("app@1.0", "prod", "started", 1)]


def test_it_counts_a_final_session_update_by_status():
    payload = _json({"sid": "a", "status": "crashed", "attrs": ATTRS})
    assert session_counts("session", payload) == [("app@1.0", "prod", "crashed", 1)]


def test_it_counts_a_session_that_starts_and_ends_in_one_update():
    payload = _json({"init": True, "status": "exited", "attrs": ATTRS})
    assert session_counts("session", payload) == [
        ("app@1.0", "prod", "started", 1),
        ("app@1.0", "prod", "exited", 1),
    ]


def test_it_counts_nothing_for_an_update_in_progress():
    payload = _json({"status": "ok", "errors": 1, "attrs": ATTRS})
    assert session_counts("session", payload) == []


def test_it_sums_session_aggregates():
    payload = _json(
        {
            "attrs": {"release": "app@1.0"},
            "aggregates": [
                {"started": "2024-05-01T10:00:00Z", "exited": 3, "errored": 1},
                {"started": "2024-05-01T10:01:00Z", "exited": 2, "abnormal": 1},
            ],
        }
    )
    assert session_counts("sessions", payload) == [
        ("app@1.0", None, "started", 7),
        ("app@1.0", None, "exited", 5),
        ("app@1.0", None, "errored", 1),
        ("app@1.0", None, "abnormal", 1),
    ]


@pytest.mark.parametrize(
    ("item_type", "payload", "message"),
    [
        ("session", b"nope", "^payload is not valid JSON$"),
        ("session", b"[]", "^payload is not a JSON object$"),
        ("session", _json({"status": "exited"}), "^session has no attrs$"),
        ("session", _json({"attrs": {}}), "^session has no valid release$"),
        (
            "session",
            _json({"attrs": {"release": "r" * 201}}),
            "^session has no valid release$",
        ),
        (
            "session",
            _json({"attrs": {"release": "a", "environment": 5}}),
            "^session environment is not a short string$",
        ),
        (
            "sessions",
            _json({"attrs": ATTRS, "aggregates": {}}),
            f"^sessions must hold at most {MAX_AGGREGATES} aggregates$",
        ),
        (
            "sessions",
            _json({"attrs": ATTRS, "aggregates": [{"exited": 1}] * 101}),
            f"^sessions must hold at most {MAX_AGGREGATES} aggregates$",
        ),
        (
            "sessions",
            _json({"attrs": ATTRS, "aggregates": [{"exited": "3"}]}),
            "^a count is not an integer$",
        ),
        (
            "sessions",
            _json({"attrs": ATTRS, "aggregates": [{"exited": -1}]}),
            "^a count is outside 0..1000000000$",
        ),
        (
            "sessions",
            _json({"attrs": ATTRS, "aggregates": [3]}),
            "^a session aggregate",
        ),
    ],
)
def test_it_rejects_malformed_sessions(item_type, payload, message):
    with pytest.raises(ValueError, match=message):
        session_counts(item_type, payload)


def test_it_reads_client_report_outcomes():
    payload = _json(
        {
            "timestamp": "2024-05-01T10:00:00Z",
            "discarded_events": [
                {"reason": "queue_overflow", "category": "error", "quantity": 23},
                {"reason": "sample_rate", "category": "transaction", "quantity": 0},
                {"reason": "Before Send!", "category": "default", "quantity": 2},
                {"reason": "network_error", "category": "hologram", "quantity": 1},
            ],
            "rate_limited_events": [{"category": "session", "quantity": 4}],
        }
    )
    assert client_report_outcomes(payload) == [
        ("error", "queue_overflow", 23),
        ("error", "other", 2),
        ("unknown", "network_error", 1),
        ("session", "ratelimit_backoff", 4),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_json({"discarded_events": {}}), "^discarded_events must be a list"),
        (_json({"discarded_events": [1]}), "^an entry of discarded_events is not"),
        (
            _json({"discarded_events": [{"category": "error", "quantity": 1.5}]}),
            "^a count is not an integer$",
        ),
    ],
)
def test_it_rejects_malformed_client_reports(payload, message):
    with pytest.raises(ValueError, match=message):
        client_report_outcomes(payload)


@pytest.mark.parametrize(
    ("item_type", "category"),
    [
        ("event", "error"),
        ("attachment", "attachment"),
        ("sessions", "session"),
        ("check_in", "monitor"),
        ("replay_video", "replay"),
        ("otel_log", "log_item"),
        ("statsd", "unknown"),
    ],
)
def test_it_maps_item_types_to_categories(item_type, category):
    assert category_for_item(item_type) == category


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("queue_overflow", "queue_overflow"),
        ("SAMPLE_RATE", "sample_rate"),
        ("with space", "other"),
        ("", "other"),
        (None, "other"),
        (7, "other"),
        ("a" * 65, "a" * 64),
    ],
)
def test_it_cleans_reasons(value, expected):
    assert clean_reason(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500), st.sampled_from(["session", "sessions"]))
def test_it_reads_or_rejects_any_session_payload_cleanly(payload, item_type):
    try:
        session_counts(item_type, payload)
    except ValueError:
        return


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_it_reads_or_rejects_any_client_report_cleanly(payload):
    try:
        client_report_outcomes(payload)
    except ValueError:
        return
