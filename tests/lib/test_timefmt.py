from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.lib.timefmt import exact, offset, parse_timestamp, relative

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [
        (0, "just now"),
        (9, "just now"),
        (-9, "just now"),
        (10, "10 s ago"),
        (59, "59 s ago"),
        (60, "1 min ago"),
        (90, "1 min ago"),
        (3599, "59 min ago"),
        (3600, "1 hour ago"),
        (7300, "2 hours ago"),
        (86_400, "1 day ago"),
        (3 * 86_400 + 5, "3 days ago"),
        (45 * 86_400, "1 month ago"),
        (400 * 86_400, "1 year ago"),
        (-7200, "in 2 hours"),
    ],
)
def test_it_says_how_long_ago(seconds_ago, text):
    assert relative(NOW - dt.timedelta(seconds=seconds_ago), NOW) == text


def test_it_gives_the_exact_moment_in_utc():
    moment = dt.datetime(
        2026, 5, 1, 14, 30, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    assert exact(moment) == "2026-05-01 12:30:05 UTC"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "+0 s"),
        (1.5, "+1.5 s"),
        (-0.25, "−0.25 s"),
        (60, "+1 min"),
        (-125, "−2 min 5 s"),
        (3600, "+1 h"),
        (3725, "+1 h 2 min"),
    ],
)
def test_it_formats_offsets(seconds, text):
    assert offset(seconds) == text


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        (1_777_636_800, dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)),
        (1_777_636_800.5, dt.datetime(2026, 5, 1, 12, 0, 0, 500_000, tzinfo=dt.UTC)),
        ("2026-05-01T12:00:00Z", dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)),
        ("2026-05-01T12:00:00", dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)),
        ("2026-05-01T14:00:00+02:00", dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)),
        ("yesterday", None),
        (None, None),
        (True, None),
        (1e30, None),
        ([1], None),
    ],
)
def test_it_parses_event_timestamps(value, moment):
    assert parse_timestamp(value) == moment
