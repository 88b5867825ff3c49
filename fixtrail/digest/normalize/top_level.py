"""The event's own scalars: event id, platform, level and timestamp."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fixtrail.digest.normalize.limits import (
    _HEX,
    _LEVEL_ALIASES,
    _NUMERIC_LEVELS,
    DEFAULT_LEVEL,
    KNOWN_PLATFORMS,
    MAX_TIMESTAMP_FUTURE_SECONDS,
    MAX_TIMESTAMP_PAST_SECONDS,
    MIN_CLOCK_DRIFT_SECONDS,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _json_type,
    _shorten,
)


def _clean_event_id(value: Any) -> str | None:
    if type(value) is not str:
        return None
    value = value.strip().lower().replace("-", "")
    if len(value) == 32 and not set(value) - _HEX:
        return value
    return None


def _event_id(value: Any, fallback: str | None, state: _State) -> str:
    # The caller's id (ingest's queue header) is authoritative: it is the id
    # the SDK was answered with, made up by ingest when the payload had none.
    if fallback is not None:
        clean = _clean_event_id(fallback)
        if clean is not None:
            return clean
    clean = _clean_event_id(value)
    if clean is not None:
        return clean
    if value is not None:
        state.notes.append("event_id: not 32 hexadecimal characters; dropped")
    return ""


def _platform(value: Any, state: _State) -> str:
    if type(value) is str:
        folded = value.strip().lower()
        if folded in KNOWN_PLATFORMS:
            return folded
        state.notes.append(
            f"platform: unknown platform {_shorten(value, 64)!r}; used 'other'"
        )
    elif value is not None:
        state.notes.append(f"platform: expected a string, got {_json_type(value)}")
    return "other"


def _level(value: Any, state: _State) -> str:
    kind = type(value)
    if kind is str:
        level = _LEVEL_ALIASES.get(value.strip().lower())
        if level is not None:
            return level
    elif (kind is int or kind is float) and math.isfinite(value):
        for threshold, name in _NUMERIC_LEVELS:
            if value >= threshold:
                return name
        return "debug"
    if value is not None:
        state.notes.append(
            f"level: unknown level {_shorten(str(value), 64)!r}; used 'error'"
        )
    return DEFAULT_LEVEL


def parse_timestamp(value: Any) -> float | None:
    """Return epoch seconds from an epoch number or an ISO 8601 string.

    Strings without a time zone are taken as UTC. Returns None for anything
    unreadable or not finite.
    """
    kind = type(value)
    if kind is int or kind is float:
        seconds = float(value)
    elif kind is str:
        text = value.strip()
        if not text or len(text) > 64:
            return None
        try:
            seconds = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            try:
                seconds = moment.timestamp()
            except (OverflowError, ValueError, OSError):
                return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def _timestamp(
    value: Any, received_at: float, clock_drift: float, state: _State
) -> float:
    seconds = parse_timestamp(value)
    if seconds is None:
        if value is not None:
            state.notes.append("timestamp: unreadable; used the time received")
        return received_at
    if math.isfinite(clock_drift) and abs(clock_drift) >= MIN_CLOCK_DRIFT_SECONDS:
        seconds += clock_drift
        state.notes.append(
            f"timestamp: corrected by {clock_drift:.0f} s of clock drift"
        )
    if (
        seconds > received_at + MAX_TIMESTAMP_FUTURE_SECONDS
        or seconds < received_at - MAX_TIMESTAMP_PAST_SECONDS
    ):
        state.notes.append(
            "timestamp: too far from the time received; used that instead"
        )
        return received_at
    return seconds
