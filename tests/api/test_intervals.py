"""Intervals, buckets and ranges of the stats endpoints
(fixtrail.api.sentry.intervals)."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.api.sentry.intervals import (
    Buckets,
    IntervalError,
    make_buckets,
    parse_interval,
    resolve_range,
    whole_hours,
)

DAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MIDNIGHT = int(DAY.timestamp())


def at(hours: int, minutes: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("12h", 43200), ("1d", 86400)],
)
def test_it_parses_an_interval(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "units", "message"),
    [
        ("1", "smhdw", 'Invalid interval "1": use a number and one of the units'),
        ("1y", "smhdw", 'Invalid interval "1y"'),
        ("30s", "mhdw", 'Invalid interval "30s": use a number and one of the units m'),
        ("0m", "smhdw", 'Invalid interval "0m": it must be between 1s and 90 days.'),
        ("91d", "smhdw", 'Invalid interval "91d": it must be between 1s and 90 days.'),
        ("-1h", "smhdw", 'Invalid interval "-1h"'),
    ],
)
def test_it_refuses_a_bad_interval(text, units, message):
    with pytest.raises(IntervalError) as raised:
        parse_interval(text, units=units)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("start", "end", "seconds", "partial", "expected"),
    [
        # Partial buckets stick out at both ends.
        (at(10, 17), at(13, 5), 3600, True, Buckets(MIDNIGHT + 36000, 3600, 4)),
        # Without them only whole buckets inside the range count.
        (at(10, 17), at(13, 5), 3600, False, Buckets(MIDNIGHT + 39600, 3600, 2)),
        # An end on a boundary starts no bucket.
        (at(10), at(12), 3600, True, Buckets(MIDNIGHT + 36000, 3600, 2)),
        (at(10), at(12), 1800, True, Buckets(MIDNIGHT + 36000, 1800, 4)),
        (at(10), at(12), 86400, True, Buckets(MIDNIGHT, 86400, 1)),
        (at(10, 0), at(10, 1), 15, True, Buckets(MIDNIGHT + 36000, 15, 4)),
        # A range shorter than one bucket, without partial ones: none.
        (at(10, 5), at(10, 50), 3600, False, Buckets(MIDNIGHT + 39600, 3600, 0)),
    ],
)
def test_it_aligns_buckets_to_the_interval(start, end, seconds, partial, expected):
    assert make_buckets(start, end, seconds, partial=partial) == expected


def test_it_lists_bucket_starts_and_finds_a_moment():
    buckets = Buckets(MIDNIGHT, 3600, 3)
    assert buckets.starts() == [MIDNIGHT, MIDNIGHT + 3600, MIDNIGHT + 7200]
    assert buckets.end == MIDNIGHT + 10800
    assert buckets.index(MIDNIGHT + 3599) == 0
    assert buckets.index(MIDNIGHT + 7200) == 2
    assert buckets.index(MIDNIGHT + 10800) is None
    assert buckets.index(MIDNIGHT - 1) is None


def test_it_refuses_too_many_buckets():
    with pytest.raises(IntervalError, match="would create too many results"):
        make_buckets(at(0), at(24 * 30), 60, partial=True)


def test_it_refuses_an_end_before_the_start():
    with pytest.raises(IntervalError, match="end must be after start."):
        make_buckets(at(12), at(10), 3600, partial=True)


@pytest.mark.parametrize(
    ("seconds", "expected"), [(3600, True), (86400, True), (1800, False), (5400, False)]
)
def test_it_knows_which_intervals_hours_can_sum(seconds, expected):
    assert whole_hours(seconds) is expected


@pytest.mark.parametrize(
    ("start", "end", "period", "expected"),
    [
        (at(1), at(2), "", (at(1), at(2))),
        (at(1), at(2), "24h", (at(1), at(2))),
        (None, None, "24h", (at(24) - dt.timedelta(hours=24), at(24))),
        (None, None, "", (at(24) - dt.timedelta(days=14), at(24))),
        (None, at(6), "2h", (at(4), at(6))),
        (at(20), None, "", (at(20), at(24))),
    ],
)
def test_it_resolves_a_range(start, end, period, expected):
    assert resolve_range(start, end, period, now=at(24)) == expected


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("yesterday", 'Invalid statsPeriod "yesterday"'),
        ("0d", 'Invalid statsPeriod "0d".'),
        ("999d", 'Invalid statsPeriod "999d".'),
    ],
)
def test_it_refuses_a_bad_period(period, message):
    with pytest.raises(IntervalError) as raised:
        resolve_range(None, None, period, now=at(24))
    assert str(raised.value).startswith(message)
