"""Scalars and free-form values: texts, numbers and bounded JSON bags,
walked once with a tally of what was trimmed."""

from __future__ import annotations

import math
from itertools import islice
from typing import Any

import orjson

from fixtrail.digest.normalize.limits import (
    ELLIPSIS,
    MAX_JSON_INT,
    MAX_KEY_CHARS,
    MIN_JSON_INT,
    TRIMMED,
    BagLimits,
)
from fixtrail.digest.normalize.model import (
    _State,
    _Tally,
)
from fixtrail.digest.scrub import (
    FILTERED,
    MIN_CARD_DIGITS,
    Scrubber,
)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        # Integers past 64 bits and exotic types: repr is readable enough.
        return repr(value)


def _text(value: Any, limit: int, path: str, state: _State) -> str | None:
    """Return ``value`` as a bounded string; numbers are converted, others noted."""
    kind = type(value)
    if kind is str:
        if len(value) > limit:
            state.notes.append(f"{path}: shortened to {limit} characters")
            return value[: limit - 1] + ELLIPSIS
        return value
    if value is None:
        return None
    if kind is int or kind is float:
        return _number_text(value)
    if kind is bool:
        return "true" if value else "false"
    state.notes.append(f"{path}: expected a string, got {_json_type(value)}; dropped")
    return None


def _number_text(value: int | float) -> str:
    if type(value) is float and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _scalar(value: Any, tally: _Tally) -> Any:
    """Return a JSON scalar that orjson can store (big ints and NaN are not)."""
    kind = type(value)
    if kind is int:
        if MIN_JSON_INT <= value <= MAX_JSON_INT:
            return value
        tally.coerced += 1
        return str(value)
    if kind is float:
        if math.isfinite(value):
            return value
        tally.coerced += 1
        return None
    if value is None or kind is bool:
        return value
    tally.coerced += 1
    return _shorten(str(value), MAX_KEY_CHARS)


class _Walk:
    """One walk over a free-form value: its limits, scrubber and tally."""

    __slots__ = (
        "max_depth",
        "max_items",
        "max_chars",
        "look_from",
        "scrubber",
        "key_cache",
        "tally",
    )

    def __init__(
        self, limits: BagLimits, scrubber: Scrubber | None, tally: _Tally
    ) -> None:
        self.max_depth, self.max_items, self.max_chars = limits
        # Strings at least this long need a closer look: to be shortened, or
        # scanned for card numbers. Most strings are shorter and are kept as
        # they are without a call.
        self.look_from = limits.max_chars + 1
        if scrubber is not None:
            self.look_from = min(self.look_from, MIN_CARD_DIGITS)
        self.scrubber = scrubber
        self.key_cache = scrubber.key_cache if scrubber is not None else None
        self.tally = tally


def _walk_str(value: str, walk: _Walk) -> str:
    if len(value) > walk.max_chars:
        walk.tally.shortened += 1
        value = value[: walk.max_chars - 1] + ELLIPSIS
    if walk.scrubber is not None and len(value) >= MIN_CARD_DIGITS:
        cleaned = walk.scrubber.scrub_text(value)
        if cleaned is not value:
            walk.tally.filtered += 1
            return cleaned
    return value


def _is_plain_scalar(value: Any, kind: type) -> bool:
    if kind is int:
        return MIN_JSON_INT <= value <= MAX_JSON_INT
    if kind is float:
        return math.isfinite(value)
    return kind is bool or value is None


def _walk_value(value: Any, depth: int, walk: _Walk) -> Any:
    """Return a bounded (and, with a scrubber, scrubbed) version of a JSON value.

    The hot loop of normalization. Containers that need no change are
    returned as they are, not copied; a container is copied from its first
    changed item on. Leaves are handled inline, and key sensitivity is read
    straight from the scrubber's cache.
    """
    kind = type(value)
    if kind is dict:
        if depth >= walk.max_depth:
            walk.tally.cut += 1
            return TRIMMED
        if len(value) > walk.max_items:
            walk.tally.dropped += len(value) - walk.max_items
            value = dict(islice(value.items(), walk.max_items))
        look_from = walk.look_from
        key_cache = walk.key_cache
        out: dict[str, Any] | None = None
        for index, (key, item) in enumerate(value.items()):
            new_key = key
            if type(key) is not str:
                new_key = str(key)
            if len(new_key) > MAX_KEY_CHARS:
                walk.tally.shortened += 1
                new_key = new_key[: MAX_KEY_CHARS - 1] + ELLIPSIS
            new = item
            sensitive = False
            if key_cache is not None:
                sensitive = key_cache.get(new_key)
                if sensitive is None:
                    sensitive = walk.scrubber.is_sensitive_key(new_key)  # type: ignore[union-attr]
            item_kind = type(item)
            if sensitive and item is not None and item != "":
                walk.tally.filtered += 1
                new = FILTERED
            elif item_kind is str:
                if len(item) >= look_from:
                    new = _walk_str(item, walk)
            elif item_kind is dict or item_kind is list:
                new = _walk_value(item, depth + 1, walk)
            elif not _is_plain_scalar(item, item_kind):
                new = _scalar(item, walk.tally)
            if out is None:
                if new is item and new_key is key:
                    continue
                out = dict(islice(value.items(), index))
            out[new_key] = new
        return value if out is None else out
    if kind is list or kind is tuple:
        if depth >= walk.max_depth:
            walk.tally.cut += 1
            return TRIMMED
        if len(value) > walk.max_items:
            walk.tally.dropped += len(value) - walk.max_items
            value = value[: walk.max_items]
        look_from = walk.look_from
        items: list[Any] | None = None
        for index, item in enumerate(value):
            new = item
            item_kind = type(item)
            if item_kind is str:
                if len(item) >= look_from:
                    new = _walk_str(item, walk)
            elif item_kind is dict or item_kind is list:
                new = _walk_value(item, depth + 1, walk)
            elif not _is_plain_scalar(item, item_kind):
                new = _scalar(item, walk.tally)
            if items is None:
                if new is item:
                    continue
                items = list(value[:index])
            items.append(new)
        if items is not None:
            return items
        return value if kind is list else list(value)
    if kind is str:
        return _walk_str(value, walk)
    return _scalar(value, walk.tally)


def _bag(
    value: Any,
    depth: int,
    limits: BagLimits,
    scrubber: Scrubber | None,
    tally: _Tally,
) -> Any:
    """Return a bounded, scrubbed copy of ``value``, counting into ``tally``."""
    return _walk_value(value, depth, _Walk(limits, scrubber, tally))


def _object_bag(
    value: Any,
    path: str,
    limits: BagLimits,
    scrubber: Scrubber | None,
    state: _State,
) -> dict[str, Any] | None:
    """Return a bounded copy of a field that must be a JSON object."""
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"{path}: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    tally = _Tally()
    out = _bag(value, 0, limits, scrubber, tally)
    tally.report(path, limits, state)
    return out or None


def _any_bag(
    value: Any, path: str, limits: BagLimits, scrubber: Scrubber | None, state: _State
) -> Any:
    tally = _Tally()
    out = _bag(value, 0, limits, scrubber, tally)
    tally.report(path, limits, state)
    return out


def _bool(value: Any) -> bool | None:
    if value is True or value is False:
        return value
    if value in ("true", "True", "1", 1):
        return True
    if value in ("false", "False", "0", 0):
        return False
    return None


def _int(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value if MIN_JSON_INT <= value <= MAX_JSON_INT else None
    if kind is float and math.isfinite(value) and abs(value) < 2**63:
        return int(value)
    if kind is str and len(value) < 20:
        text = value.strip()
        # isdigit() also accepts digits int() refuses, such as "²".
        if text.isascii() and text.lstrip("-").isdigit():
            return int(text)
    return None
