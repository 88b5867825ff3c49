"""Breadcrumbs: the newest ones, each with bounded data."""

from __future__ import annotations

import math
from typing import Any

from fixtrail.digest.normalize.limits import (
    BREADCRUMB_DATA_LIMITS,
    ELLIPSIS,
    MAX_BREADCRUMBS,
    MAX_MESSAGE_CHARS,
)
from fixtrail.digest.normalize.message import (
    _message_text,
)
from fixtrail.digest.normalize.model import (
    _State,
    _Tally,
)
from fixtrail.digest.normalize.stacktraces import (
    _values_list,
)
from fixtrail.digest.normalize.values import (
    _Walk,
    _walk_str,
    _walk_value,
)

_BREADCRUMB_TEXT = ("type", "category", "level", "event_id")


def _breadcrumbs(value: Any, state: _State) -> list[dict[str, Any]]:
    items = _values_list(
        value, "breadcrumbs", state, ("message", "category", "timestamp")
    )
    if len(items) > MAX_BREADCRUMBS:
        state.notes.append(
            f"breadcrumbs.values: kept the last {MAX_BREADCRUMBS} of {len(items)}"
        )
        items = items[-MAX_BREADCRUMBS:]
    tally = _Tally()
    data_walk = _Walk(BREADCRUMB_DATA_LIMITS, state.scrubber, tally)
    message_walk = _Walk(
        BREADCRUMB_DATA_LIMITS._replace(max_chars=MAX_MESSAGE_CHARS),
        state.scrubber,
        tally,
    )
    out = []
    for item in items:
        if type(item) is not dict:
            tally.coerced += 1
            continue
        crumb: dict[str, Any] = {}
        timestamp = item.get("timestamp")
        kind = type(timestamp)
        # Kept as sent (ISO string or epoch number): parsing a hundred dates
        # per event is costly and the page can read both.
        if ((kind is float or kind is int) and math.isfinite(timestamp)) or (
            kind is str and len(timestamp) <= 64
        ):
            crumb["timestamp"] = timestamp
        for key in _BREADCRUMB_TEXT:
            text = item.get(key)
            if type(text) is str and text:
                crumb[key] = text if len(text) <= 64 else text[:63] + ELLIPSIS
        message = item.get("message")
        if message is not None:
            message = _message_text(message, "breadcrumbs.message", state)
            if message:
                crumb["message"] = _walk_str(message, message_walk)
        data = item.get("data")
        if type(data) is dict and data:
            crumb["data"] = _walk_value(data, 0, data_walk)
        if crumb:
            out.append(crumb)
    tally.report("breadcrumbs.values", BREADCRUMB_DATA_LIMITS, state)
    return out
