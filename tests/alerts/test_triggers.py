from __future__ import annotations

import pytest

from fixtrail.alerts import triggers
from fixtrail.alerts.triggers import TriggerError, When


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["new"], When(("new",))),
        (["new,regression"], When(("new", "regression"))),
        (["new", "escalating"], When(("new", "escalating"))),
        (["frequency:100/10m"], When(("frequency",), 100, 10)),
        (["users:20/1h"], When(("users",), 20, 60)),
        (["spike:5"], When(("spike",), 5, 60)),
        (["new-release", "new-environment"], When(("new-release", "new-environment"))),
        (["new", "frequency:5/2d"], When(("new", "frequency"), 5, 2880)),
    ],
)
def test_it_parses_triggers(specs, expected):
    assert triggers.parse_when(specs) == expected


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["sometimes"], "Unknown trigger 'sometimes'"),
        ([""], "A rule needs at least one trigger."),
        (["frequency:10/5m", "users:3/1h"], "A rule can have one of frequency"),
        (["frequency:0/5m"], "frequency needs a count of at least 1."),
        (["frequency:10/5x"], "'5x' is not a duration"),
        (["frequency:10/2w"], "A window is between 1 minute and 1 week"),
        (["spike:1"], "A spike factor is between 2 and 100"),
    ],
)
def test_it_rejects_bad_triggers(specs, message):
    with pytest.raises(TriggerError, match=message):
        triggers.parse_when(specs)


def test_it_formats_triggers_as_it_parses_them():
    when = triggers.parse_when(["new", "users:20/1h"])
    assert triggers.format_when(when) == ["new", "users:20/1h"]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30m", 30), ("1h", 60), ("2d", 2880), ("1w", 10080), ("15", 15)],
)
def test_it_parses_durations(text, minutes):
    assert triggers.parse_duration(text) == minutes
    assert triggers.parse_duration(triggers.format_duration(minutes)) == minutes


@pytest.mark.parametrize(
    ("last_hour", "history", "factor", "spike"),
    [
        # Usually 10 an hour: 50 is five times that.
        (50, [10] * 7, 5, True),
        (49, [10] * 7, 5, False),
        # A quiet issue (under one an hour) counts as one an hour.
        (10, [0] * 7, 3, True),
        # Below SPIKE_MIN_EVENTS is never a spike, however quiet before.
        (9, [0] * 7, 3, False),
        # One busy day among quiet ones raises the usual rate.
        (30, [0, 0, 0, 0, 0, 0, 70], 3, True),
        (29, [0, 0, 0, 0, 0, 0, 70], 3, False),
    ],
)
def test_it_decides_spikes(last_hour, history, factor, spike):
    assert triggers.is_spike(last_hour, history, factor) is spike
