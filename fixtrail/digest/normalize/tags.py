"""Tags: string pairs, one per key, in any of the shapes SDKs send."""

from __future__ import annotations

from typing import Any

from fixtrail.digest.normalize.limits import (
    ELLIPSIS,
    MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS,
    MAX_TAGS,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _json_type,
    _number_text,
    _shorten,
)
from fixtrail.digest.scrub import (
    FILTERED,
)


def _tag_pairs(value: Any, state: _State) -> list[tuple[Any, Any]]:
    if type(value) is dict:
        return list(value.items())
    if type(value) is list:
        pairs = []
        for item in value:
            if type(item) in (list, tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif type(item) is dict and "key" in item:
                pairs.append((item.get("key"), item.get("value")))
            else:
                state.notes.append(
                    "tags: dropped an item that was not a [key, value] pair"
                )
        return pairs
    if value is not None:
        state.notes.append(
            f"tags: expected an object or array, got {_json_type(value)}"
        )
    return []


def _tag_value(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        text = value.strip()
    elif kind is bool:
        text = "true" if value else "false"
    elif kind is int or kind is float:
        text = _number_text(value)
    else:
        return None
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    return text or None


def _tags(value: Any, state: _State) -> list[list[str]]:
    pairs = _tag_pairs(value, state)
    scrubber = state.scrubber
    tags: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        key = _tag_value(raw_key)
        if key is None:
            state.notes.append("tags: dropped a tag with an empty or non-text key")
            continue
        if len(key) > MAX_TAG_KEY_CHARS:
            state.notes.append(
                f"tags: dropped {_shorten(key, 40)!r}: key over "
                f"{MAX_TAG_KEY_CHARS} characters"
            )
            continue
        text = _tag_value(raw_value)
        if text is None:
            if raw_value is not None:
                state.notes.append(f"tags.{key}: value is not text; dropped")
            continue
        if len(text) > MAX_TAG_VALUE_CHARS:
            state.notes.append(
                f"tags.{key}: shortened to {MAX_TAG_VALUE_CHARS} characters"
            )
            text = text[: MAX_TAG_VALUE_CHARS - 1] + ELLIPSIS
        if scrubber is not None:
            text = (
                FILTERED
                if scrubber.is_sensitive_key(key)
                else scrubber.scrub_text(text)
            )
        tags[key] = text
    if len(tags) > MAX_TAGS:
        state.notes.append(f"tags: kept the first {MAX_TAGS} of {len(tags)} tags")
    return [[k, v] for k, v in list(tags.items())[:MAX_TAGS]]
