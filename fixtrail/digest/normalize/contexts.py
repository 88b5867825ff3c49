"""The remaining free-form fields: contexts, modules and the fingerprint."""

from __future__ import annotations

from itertools import islice
from typing import Any

from fixtrail.digest.normalize.limits import (
    CONTEXT_LIMITS,
    MAX_FINGERPRINT_ENTRIES,
    MAX_FINGERPRINT_ENTRY_CHARS,
    MAX_KEY_CHARS,
    MAX_MODULES,
)
from fixtrail.digest.normalize.message import (
    _param_text,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _json_type,
    _object_bag,
    _shorten,
)


def _contexts(value: Any, state: _State) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"contexts: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    out = {}
    for name, context in value.items():
        if context is None:
            continue
        bag = _object_bag(
            context,
            f"contexts.{_shorten(str(name), 64)}",
            CONTEXT_LIMITS,
            state.scrubber,
            state,
        )
        if bag:
            out[_shorten(str(name), MAX_KEY_CHARS)] = bag
        if len(out) >= CONTEXT_LIMITS.max_items:
            state.notes.append(
                f"contexts: kept the first {CONTEXT_LIMITS.max_items} contexts"
            )
            break
    return out or None


def _modules(value: Any, state: _State) -> dict[str, str] | None:
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"modules: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    if len(value) > MAX_MODULES:
        state.notes.append(f"modules: kept the first {MAX_MODULES} of {len(value)}")
        value = dict(islice(value.items(), MAX_MODULES))
    # Usually every version is a short string: keep the object as it is then.
    if all(type(v) is str and len(v) <= MAX_KEY_CHARS for v in value.values()) and all(
        len(k) <= MAX_KEY_CHARS for k in value
    ):
        return value or None
    out = {}
    for name, version in value.items():
        if type(version) is not str:
            version = _param_text(version) if version is not None else ""
        out[_shorten(str(name), MAX_KEY_CHARS)] = _shorten(version, MAX_KEY_CHARS)
    return out or None


def _fingerprint(value: Any, state: _State) -> list[str] | None:
    if value is None:
        return None
    if type(value) is str:
        value = [value]
    if type(value) is not list:
        state.notes.append(
            f"fingerprint: expected an array, got {_json_type(value)}; dropped"
        )
        return None
    out = []
    for item in value[:MAX_FINGERPRINT_ENTRIES]:
        kind = type(item)
        if kind is str:
            out.append(_shorten(item, MAX_FINGERPRINT_ENTRY_CHARS))
        elif kind is int or kind is float or kind is bool:
            out.append(
                _param_text(item) if kind is not bool else ("true" if item else "false")
            )
        else:
            state.notes.append(f"fingerprint: dropped a {_json_type(item)} entry")
    if len(value) > MAX_FINGERPRINT_ENTRIES:
        state.notes.append(
            f"fingerprint: kept the first {MAX_FINGERPRINT_ENTRIES} entries"
        )
    return out or None
