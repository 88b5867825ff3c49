"""Time ranges and buckets of the stats endpoints (events-stats, stats_v2).

An interval is a number and a unit, as Sentry and the Grafana data source
write it: ``30s``, ``5m``, ``1h``, ``1d``, ``1w``. Buckets are aligned to
multiples of the interval since the Unix epoch, so the same range asked
twice gives the same buckets::

    start 10:17, end 13:05, interval 1h, partial
    -> buckets 10:00, 11:00, 12:00, 13:00

With ``partial`` the first and last buckets may stick out of the range (the
data source always sends ``partial=1``); without it only buckets wholly
inside the range are kept. Everything here is pure: no clock, no database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HOUR_SECONDS = 3600
UNIT_SECONDS = {"s": 1, "m": 60, "h": HOUR_SECONDS, "d": 86400, "w": 7 * 86400}

# Sentry refuses a series of more points than this ("Your interval and date
# range would create too many results"); the same bound keeps one answer
# small here.
MAX_BUCKETS = 10_000
# Sentry's stats are kept for 90 days; a longer interval says nothing.
MAX_INTERVAL_SECONDS = 90 * 86400

_INTERVAL = re.compile(r"(\d{1,7})([smhdw])")


class IntervalError(ValueError):
    """An interval or range that cannot be served; the message says why."""


def parse_interval(text: str, *, units: str = "smhdw") -> int:
    """Return the interval ``text`` (``"5m"``) in seconds.

    ``units`` limits the units accepted (stats_v2 takes m, h, d, w).
    Raises IntervalError for anything else, zero, or more than 90 days.
    """
    match = _INTERVAL.fullmatch(text.strip())
    if match is None or match.group(2) not in units:
        raise IntervalError(
            f'Invalid interval "{text}": use a number and one of the units '
            f"{', '.join(units)}, like 1h."
        )
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds == 0 or seconds > MAX_INTERVAL_SECONDS:
        raise IntervalError(
            f'Invalid interval "{text}": it must be between 1s and 90 days.'
        )
    return seconds


def epoch_seconds(moment: dt.datetime) -> int:
    """Return the whole seconds from the Unix epoch to ``moment`` (aware)."""
    return int((moment - EPOCH).total_seconds() // 1)


def from_epoch(seconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Buckets:
    """Aligned buckets: ``count`` of ``seconds`` each from ``first``
    (epoch seconds)."""

    first: int
    seconds: int
    count: int

    @property
    def end(self) -> int:
        """Epoch seconds just past the last bucket."""
        return self.first + self.seconds * self.count

    def starts(self) -> list[int]:
        """Return each bucket's start in epoch seconds."""
        return [self.first + i * self.seconds for i in range(self.count)]

    def index(self, moment: int) -> int | None:
        """Return the bucket holding epoch second ``moment``, or None."""
        if moment < self.first or moment >= self.end:
            return None
        return (moment - self.first) // self.seconds


def make_buckets(
    start: dt.datetime, end: dt.datetime, seconds: int, *, partial: bool
) -> Buckets:
    """Return the buckets of ``seconds`` that cover ``start``..``end``.

    Raises IntervalError when end is not after start or when there would
    be more than MAX_BUCKETS buckets.
    """
    if end <= start:
        raise IntervalError("end must be after start.")
    low, high = epoch_seconds(start), epoch_seconds(end)
    if partial:
        first = low - low % seconds
        last = high - high % seconds
        # An end exactly on a boundary starts no bucket of its own.
        if last == high:
            last -= seconds
    else:
        first = low + (-low) % seconds
        last = high - high % seconds - seconds
    count = max(0, (last - first) // seconds + 1)
    if count > MAX_BUCKETS:
        raise IntervalError(
            "Your interval and date range would create too many results. "
            "Use a larger interval, or a smaller date range."
        )
    return Buckets(first, seconds, count)


def whole_hours(seconds: int) -> bool:
    """Return True when buckets of ``seconds`` can be summed from hours."""
    return seconds % HOUR_SECONDS == 0


# Without start, end or statsPeriod, Sentry's Discover looks back 14 days.
DEFAULT_PERIOD_SECONDS = 14 * 86400
# Stored events and counts are kept at most this long (retention's ceiling).
MAX_PERIOD_SECONDS = 400 * 86400


def resolve_range(
    start: dt.datetime | None,
    end: dt.datetime | None,
    period: str,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """Return the (start, end) a request means.

    ``start`` and ``end`` win when both are given; otherwise ``period``
    (``statsPeriod``, like ``24h``; 14 days when empty) counts back from
    ``end`` or ``now``. Raises IntervalError for a bad period or an end
    not after its start.
    """
    if start is not None and end is not None:
        if end <= start:
            raise IntervalError("end must be after start.")
        return start, end
    if start is not None:
        return start, now
    seconds = DEFAULT_PERIOD_SECONDS
    if period:
        match = _INTERVAL.fullmatch(period.strip())
        if match is None:
            raise IntervalError(
                f'Invalid statsPeriod "{period}": use a number and a unit '
                f"(s, m, h, d, w), like 24h."
            )
        seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
        if seconds == 0 or seconds > MAX_PERIOD_SECONDS:
            raise IntervalError(f'Invalid statsPeriod "{period}".')
    until = end or now
    return until - dt.timedelta(seconds=seconds), until
