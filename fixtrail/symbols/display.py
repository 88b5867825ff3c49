"""What the issue page shows about symbolication: original or raw frames,
and why some frames stayed minified."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Event "errors" types written by fixtrail.symbols.symbolicate.
SYMBOL_ERROR_TYPES = frozenset(
    {
        "js_no_source",
        "js_invalid_source",
        "js_invalid_source_position",
        "proguard_missing_mapping",
    }
)


@dataclass
class FramesChoice:
    """The event data to display and what the page says about its frames."""

    data: dict[str, Any]
    # True when digest resolved some frames, so raw ones can be shown.
    has_raw: bool = False
    raw: bool = False
    notices: list[str] = field(default_factory=list)


def _holders(data: dict[str, Any]) -> list[dict[str, Any]]:
    holders = []
    for key in ("exception", "threads"):
        values = data.get(key)
        values = values.get("values") if isinstance(values, dict) else None
        holders += [v for v in values or () if isinstance(v, dict)]
    return holders + [data]


def choose_frames(data: dict[str, Any], raw: bool) -> FramesChoice:
    """Return ``data`` with the raw (minified) stack traces in place of the
    resolved ones when ``raw`` is set, and the notices of what was missing.
    ``data`` itself is not changed."""
    holders = _holders(data)
    has_raw = any(isinstance(h.get("raw_stacktrace"), dict) for h in holders)
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    notices = [
        str(e.get("message") or e.get("type"))
        for e in errors
        if isinstance(e, dict) and e.get("type") in SYMBOL_ERROR_TYPES
    ]
    if not (raw and has_raw):
        return FramesChoice(data, has_raw, False, notices)
    swapped = dict(data)
    for key in ("exception", "threads"):
        container = data.get(key)
        if isinstance(container, dict) and isinstance(container.get("values"), list):
            swapped[key] = {
                **container,
                "values": [_raw_of(v) for v in container["values"]],
            }
    swapped = _raw_of(swapped)
    return FramesChoice(swapped, True, True, notices)


def _raw_of(holder: Any) -> Any:
    if isinstance(holder, dict) and isinstance(holder.get("raw_stacktrace"), dict):
        return {**holder, "stacktrace": holder["raw_stacktrace"]}
    return holder
