"""When an event happened: timestamps in every form, and clock drift."""

from __future__ import annotations

import pytest

from fixtrail.digest.normalize.top_level import parse_timestamp
from tests.digest.normalize.helpers import (
    RECEIVED_AT,
    normalize,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1735787000.5, 1735787000.5),
        (1735787000, 1735787000.0),
        ("1735787000.5", 1735787000.5),
        ("2025-01-02T03:03:20Z", 1735787000.0),
        ("2025-01-02T03:03:20.132514327Z", 1735787000.132514),
        ("2025-01-02T04:03:20+01:00", 1735787000.0),
        ("2025-01-02T03:03:20", 1735787000.0),
        ("yesterday", None),
        ("", None),
        ({"t": 1}, None),
        (True, None),
    ],
)
def test_it_parses_timestamps(value, expected):
    assert parse_timestamp(value) == expected


def test_it_uses_the_event_timestamp():
    assert normalize({"timestamp": "2025-01-02T03:03:20Z"}).timestamp == 1735787000.0


def test_it_falls_back_to_the_time_received_without_a_timestamp():
    event = normalize({})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == []


def test_it_falls_back_to_the_time_received_for_an_unreadable_timestamp():
    event = normalize({"timestamp": "soon"})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == ["timestamp: unreadable; used the time received"]


@pytest.mark.parametrize("offset", [3600.0, -31 * 24 * 3600.0])
def test_it_falls_back_to_the_time_received_for_an_absurd_timestamp(offset):
    event = normalize({"timestamp": RECEIVED_AT + offset})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == [
        "timestamp: too far from the time received; used that instead"
    ]


def test_it_corrects_clock_drift_of_a_minute_or_more():
    # The device clock is two hours behind the server's.
    event = normalize({"timestamp": RECEIVED_AT - 7200 - 5}, clock_drift=7200.0)

    assert event.timestamp == RECEIVED_AT - 5
    assert event.notes == ["timestamp: corrected by 7200 s of clock drift"]


def test_it_ignores_clock_drift_below_a_minute():
    event = normalize({"timestamp": RECEIVED_AT - 5}, clock_drift=0.4)

    assert event.timestamp == RECEIVED_AT - 5
