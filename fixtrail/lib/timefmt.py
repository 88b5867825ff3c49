"""Short human forms of moments and durations, for dense pages.

relative(now - 90 s, now)      -> "1 min ago"
relative(now + 2 h, now)       -> "in 2 hours"
exact(moment)                  -> "2024-05-01 12:34:56 UTC"
offset(1.5)                    -> "+1.5 s";  offset(-125) -> "−2 min 5 s"
"""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# Calendar-free approximations: a relative time is a rough hint, the exact
# moment is always shown on hover.
MONTH = 30 * DAY
YEAR = 365 * DAY
# Below this many seconds "just now" reads better than "3 s ago".
JUST_NOW_SECONDS = 10

_UNITS = (
    (YEAR, "year", "years"),
    (MONTH, "month", "months"),
    (DAY, "day", "days"),
    (HOUR, "hour", "hours"),
    (MINUTE, "min", "min"),
    (1, "s", "s"),
)


def relative(moment: datetime, now: datetime) -> str:
    """Return how long before (or after) ``now`` the ``moment`` is, in the
    largest whole unit: "just now", "5 min ago", "3 days ago", "in 2 hours"."""
    seconds = (now - moment).total_seconds()
    if abs(seconds) < JUST_NOW_SECONDS:
        return "just now"
    amount = _largest_unit(abs(seconds))
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def _largest_unit(seconds: float) -> str:
    for size, one, many in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {one if count == 1 else many}"
    return "0 s"


def exact(moment: datetime) -> str:
    """Return ``moment`` in UTC to the second, as "2024-05-01 12:34:56 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def offset(seconds: float) -> str:
    """Return a signed offset between two moments, e.g. "+1.5 s", "−2 min 5 s".

    Used for breadcrumbs, relative to the event they led to.
    """
    sign = "−" if seconds < 0 else "+"
    value = abs(seconds)
    if value < MINUTE:
        text = f"{value:.3f}".rstrip("0").rstrip(".")
        return f"{sign}{text} s"
    if value < HOUR:
        minutes, rest = divmod(int(value), MINUTE)
        return f"{sign}{minutes} min {rest} s" if rest else f"{sign}{minutes} min"
    hours, rest = divmod(int(value), HOUR)
    minutes = rest // MINUTE
    return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"


def parse_timestamp(value: object) -> datetime | None:
    """Return an aware datetime for an event timestamp (epoch seconds or an
    ISO 8601 string), or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
