"""What fires an alert rule, written the way the command line takes it::

    new                 a new issue
    regression          a resolved issue came back
    escalating          an ignored issue's condition was met
    new-release         an issue's first event in a release it was not in
    new-environment     the same for an environment
    frequency:100/10m   more than 100 events in 10 minutes
    users:20/1h         more than 20 distinct users in an hour
    spike:5             the last hour 5 times the usual rate for that hour

and the pure decisions about them (no ORM, no clock: callers pass ``now``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEW = "new"
REGRESSION = "regression"
ESCALATING = "escalating"
NEW_RELEASE = "new-release"
NEW_ENVIRONMENT = "new-environment"
FREQUENCY = "frequency"
USERS = "users"
SPIKE = "spike"

# Fired by a record digest wrote (an Activity or a first TagValue row).
EVENT_TRIGGERS = (NEW, REGRESSION, ESCALATING, NEW_RELEASE, NEW_ENVIRONMENT)
# Fired by counts over a window, checked every evaluation.
THRESHOLD_TRIGGERS = (FREQUENCY, USERS, SPIKE)
TRIGGERS = EVENT_TRIGGERS + THRESHOLD_TRIGGERS

LABELS = {
    NEW: "A new issue",
    REGRESSION: "A regression",
    ESCALATING: "An ignored issue escalates",
    NEW_RELEASE: "An issue's first event in a new release",
    NEW_ENVIRONMENT: "An issue's first event in a new environment",
    FREQUENCY: "More than N events in a window",
    USERS: "More than N users in a window",
    SPIKE: "The last hour is K times the usual rate",
}

# The windows a rule may count over: a minute to a week (the events table
# keeps at least that long under the default retention).
MIN_WINDOW_MINUTES = 1
MAX_WINDOW_MINUTES = 7 * 24 * 60
# Cool-downs: none to a week.
MAX_COOLDOWN_MINUTES = 7 * 24 * 60
# A spike is judged over the last hour against the same hour of the day on
# the previous SPIKE_DAYS days.
SPIKE_WINDOW_MINUTES = 60
SPIKE_DAYS = 7
# Fewer events than this in the last hour is never a spike: 3 events
# against a usual 0.1 is noise, not an outage.
SPIKE_MIN_EVENTS = 10
# A larger factor than this is surely a typo (spike:500 never fires).
MAX_SPIKE_FACTOR = 100

_DURATION = re.compile(r"(\d{1,6})([mhdw])")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
_THRESHOLD = re.compile(r"(frequency|users):(\d{1,9})/(.+)")
_SPIKE = re.compile(r"spike:(\d{1,4})")


class TriggerError(ValueError):
    """A trigger or duration that cannot be understood; ``message`` is for
    the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class When:
    """The triggers of a rule and the numbers its threshold trigger uses."""

    triggers: tuple[str, ...]
    threshold: int = 0
    window_minutes: int = 0


def parse_duration(text: str) -> int:
    """Return ``30m``, ``1h``, ``2d`` or ``1w`` (or a bare number of
    minutes) in minutes; raise TriggerError otherwise."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text)
    if match is None:
        raise TriggerError(
            f"{text!r} is not a duration: write a number with m, h, d or w "
            "(30m, 1h, 2d, 1w)."
        )
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def format_duration(minutes: int) -> str:
    """Return ``minutes`` in the largest unit that divides it (``90`` →
    ``90m``, ``120`` → ``2h``)."""
    for unit in ("w", "d", "h"):
        if minutes and minutes % _UNIT_MINUTES[unit] == 0:
            return f"{minutes // _UNIT_MINUTES[unit]}{unit}"
    return f"{minutes}m"


def parse_when(specs: list[str]) -> When:
    """Return the rule triggers written in ``specs`` (each may hold several,
    comma-separated); raise TriggerError for an unknown or bad one.

    At most one threshold trigger is allowed, since a rule has one N and
    one window.
    """
    triggers: list[str] = []
    threshold = window = 0
    for spec in (s.strip() for text in specs for s in text.split(",")):
        if not spec:
            continue
        name = spec.lower()
        if name in EVENT_TRIGGERS:
            triggers.append(name)
            continue
        if match := _THRESHOLD.fullmatch(name):
            name, count, window_text = match.groups()
            threshold, window = int(count), parse_duration(window_text)
        elif match := _SPIKE.fullmatch(name):
            name, threshold = SPIKE, int(match.group(1))
            window = SPIKE_WINDOW_MINUTES
        else:
            raise TriggerError(
                f"Unknown trigger {spec!r}: use new, regression, escalating, "
                "new-release, new-environment, frequency:N/10m, users:N/1h "
                "or spike:K."
            )
        if any(t in THRESHOLD_TRIGGERS for t in triggers):
            raise TriggerError("A rule can have one of frequency, users and spike.")
        triggers.append(name)
    when = When(tuple(dict.fromkeys(triggers)), threshold, window)
    check_when(when)
    return when


def check_when(when: When) -> None:
    """Raise TriggerError unless ``when`` is a rule's valid set of triggers."""
    if not when.triggers:
        raise TriggerError("A rule needs at least one trigger.")
    unknown = [t for t in when.triggers if t not in TRIGGERS]
    if unknown:
        raise TriggerError(f"Unknown trigger {unknown[0]!r}.")
    counted = [t for t in when.triggers if t in THRESHOLD_TRIGGERS]
    if len(counted) > 1:
        raise TriggerError("A rule can have one of frequency, users and spike.")
    if not counted:
        return
    if counted[0] == SPIKE:
        if not 2 <= when.threshold <= MAX_SPIKE_FACTOR:
            raise TriggerError(
                f"A spike factor is between 2 and {MAX_SPIKE_FACTOR} "
                "(spike:3 is three times the usual rate)."
            )
        return
    if when.threshold < 1:
        raise TriggerError(f"{counted[0]} needs a count of at least 1.")
    if not MIN_WINDOW_MINUTES <= when.window_minutes <= MAX_WINDOW_MINUTES:
        raise TriggerError("A window is between 1 minute and 1 week (1m to 1w).")


def format_when(when: When) -> list[str]:
    """Return the triggers as ``parse_when`` reads them."""
    out = []
    for trigger in when.triggers:
        if trigger in (FREQUENCY, USERS):
            window = format_duration(when.window_minutes)
            out.append(f"{trigger}:{when.threshold}/{window}")
        elif trigger == SPIKE:
            out.append(f"spike:{when.threshold}")
        else:
            out.append(trigger)
    return out


def usual_rate(history: list[int]) -> float:
    """Return the usual events per hour from the same hour on past days."""
    return sum(history) / len(history) if history else 0.0


def is_spike(last_hour: int, history: list[int], factor: int) -> bool:
    """Return True when ``last_hour`` events are at least ``factor`` times
    the usual rate of ``history`` (counts of the same hour on past days,
    zeros included), and at least SPIKE_MIN_EVENTS.

    A usual rate below one event an hour counts as one, so an issue that
    was quiet needs ``factor`` events (and SPIKE_MIN_EVENTS) to spike.
    """
    if last_hour < SPIKE_MIN_EVENTS:
        return False
    return last_hour >= factor * max(usual_rate(history), 1.0)
