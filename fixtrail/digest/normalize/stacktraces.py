"""Exceptions, threads and their stack traces, frame by frame."""

from __future__ import annotations

from typing import Any

from fixtrail.digest.normalize.limits import (
    ELLIPSIS,
    FRAME_VARS_LIMITS,
    MAX_CONTEXT_LINE_CHARS,
    MAX_CONTEXT_LINES,
    MAX_EXCEPTIONS,
    MAX_FRAMES_PER_STACKTRACE,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_THREADS,
    SMALL_LIMITS,
)
from fixtrail.digest.normalize.message import (
    _message_text,
    _param_text,
)
from fixtrail.digest.normalize.model import (
    _State,
    _Tally,
)
from fixtrail.digest.normalize.values import (
    _any_bag,
    _bool,
    _int,
    _json_type,
    _number_text,
    _object_bag,
    _shorten,
    _text,
    _Walk,
    _walk_value,
)

_FRAME_NAME = 1
_FRAME_LINE = 2
_FRAME_INT = 3
_FRAME_BOOL = 4
_FRAME_LINES = 5
_FRAME_VARS = 6

_FRAME_FIELDS = {
    "filename": _FRAME_NAME,
    "abs_path": _FRAME_NAME,
    "module": _FRAME_NAME,
    "package": _FRAME_NAME,
    "platform": _FRAME_NAME,
    "function": _FRAME_NAME,
    "raw_function": _FRAME_NAME,
    "symbol": _FRAME_NAME,
    "instruction_addr": _FRAME_NAME,
    "symbol_addr": _FRAME_NAME,
    "image_addr": _FRAME_NAME,
    "addr_mode": _FRAME_NAME,
    "trust": _FRAME_NAME,
    "context_line": _FRAME_LINE,
    "lineno": _FRAME_INT,
    "colno": _FRAME_INT,
    "in_app": _FRAME_BOOL,
    "pre_context": _FRAME_LINES,
    "post_context": _FRAME_LINES,
    "vars": _FRAME_VARS,
}


def _frame(frame: dict[str, Any], walk: _Walk) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tally = walk.tally
    for key, value in frame.items():
        kind = _FRAME_FIELDS.get(key)
        if kind is None or value is None:
            continue
        value_kind = type(value)
        if kind in (_FRAME_NAME, _FRAME_LINE):
            if value_kind is not str:
                if value_kind is int or value_kind is float:
                    value = _number_text(value)
                else:
                    tally.coerced += 1
                    continue
            limit = MAX_NAME_CHARS if kind == _FRAME_NAME else MAX_CONTEXT_LINE_CHARS
            if len(value) > limit:
                tally.shortened += 1
                value = value[: limit - 1] + ELLIPSIS
            out[key] = value
        elif kind == _FRAME_INT:
            number = _int(value)
            if number is None:
                tally.coerced += 1
            else:
                out[key] = number
        elif kind == _FRAME_BOOL:
            flag = _bool(value)
            if flag is not None:
                out[key] = flag
        elif kind == _FRAME_LINES:
            if value_kind is not list:
                tally.coerced += 1
                continue
            if len(value) > MAX_CONTEXT_LINES:
                tally.dropped += len(value) - MAX_CONTEXT_LINES
                # Keep the lines next to the current line.
                value = (
                    value[-MAX_CONTEXT_LINES:]
                    if key == "pre_context"
                    else value[:MAX_CONTEXT_LINES]
                )
            lines = value
            for index, line in enumerate(value):
                if type(line) is str and len(line) <= MAX_CONTEXT_LINE_CHARS:
                    continue
                if lines is value:
                    lines = list(value)
                if type(line) is not str:
                    line = "" if line is None else _param_text(line)
                if len(line) > MAX_CONTEXT_LINE_CHARS:
                    tally.shortened += 1
                    line = line[: MAX_CONTEXT_LINE_CHARS - 1] + ELLIPSIS
                lines[index] = line
            out[key] = lines
        elif value_kind is dict:
            variables = _walk_value(value, 0, walk)
            if variables:
                out[key] = variables
        else:
            tally.coerced += 1
    return out


def _stacktrace(value: Any, path: str, state: _State) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"{path}: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    frames = value.get("frames")
    if type(frames) is not list:
        if frames is not None:
            state.notes.append(
                f"{path}.frames: expected an array, got {_json_type(frames)}"
            )
        return None
    out: dict[str, Any] = {}
    if len(frames) > MAX_FRAMES_PER_STACKTRACE:
        half = MAX_FRAMES_PER_STACKTRACE // 2
        state.notes.append(
            f"{path}.frames: kept the first and last {half} of {len(frames)} frames"
        )
        out["frames_omitted"] = [half, len(frames) - half]
        frames = frames[:half] + frames[-half:]
    else:
        omitted = value.get("frames_omitted")
        if (
            type(omitted) is list
            and len(omitted) == 2
            and all(type(i) is int for i in omitted)
        ):
            out["frames_omitted"] = omitted
    tally = _Tally()
    walk = _Walk(FRAME_VARS_LIMITS, state.scrubber, tally)
    clean = []
    dropped = 0
    for frame in frames:
        if type(frame) is dict:
            clean.append(_frame(frame, walk))
        else:
            dropped += 1
    if dropped:
        state.notes.append(
            f"{path}.frames: dropped {dropped} frames that were not objects"
        )
    tally.report(f"{path}.frames", FRAME_VARS_LIMITS, state)
    if not clean:
        return None
    out["frames"] = clean
    registers = value.get("registers")
    if type(registers) is dict and registers:
        out["registers"] = _any_bag(
            registers, f"{path}.registers", SMALL_LIMITS, None, state
        )
    return out


def _values_list(
    value: Any, path: str, state: _State, single_keys: tuple[str, ...]
) -> list[Any]:
    """Return the items of an ``{"values": [...]}`` field given in any shape."""
    if type(value) is list:
        return value
    if type(value) is dict:
        values = value.get("values")
        if type(values) is list:
            return values
        if values is None and any(key in value for key in single_keys):
            return [value]
        if values is not None:
            state.notes.append(
                f"{path}.values: expected an array, got {_json_type(values)}"
            )
        return []
    if value is not None:
        state.notes.append(
            f"{path}: expected an object or array, got {_json_type(value)}"
        )
    return []


_MECHANISM_TEXT = ("type", "source", "description", "help_link")
_MECHANISM_FLAGS = ("handled", "synthetic", "is_exception_group")


def _mechanism(value: Any, path: str, state: _State) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    out: dict[str, Any] = {}
    for key in _MECHANISM_TEXT:
        text = _text(value.get(key), MAX_NAME_CHARS, f"{path}.{key}", state)
        if text:
            out[key] = text
    for key in _MECHANISM_FLAGS:
        flag = _bool(value.get(key))
        if flag is not None:
            out[key] = flag
    for key in ("exception_id", "parent_id"):
        number = _int(value.get(key))
        if number is not None:
            out[key] = number
    for key in ("data", "meta"):
        bag = _object_bag(
            value.get(key), f"{path}.{key}", SMALL_LIMITS, state.scrubber, state
        )
        if bag:
            out[key] = bag
    return out or None


def _exception(
    value: dict[str, Any], path: str, state: _State
) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    type_ = _text(value.get("type"), MAX_NAME_CHARS, f"{path}.type", state)
    if type_:
        out["type"] = type_.strip()
    text = _message_text(value.get("value"), f"{path}.value", state)
    if text:
        if len(text) > MAX_MESSAGE_CHARS:
            state.notes.append(
                f"{path}.value: shortened to {MAX_MESSAGE_CHARS} characters"
            )
            text = _shorten(text, MAX_MESSAGE_CHARS)
        if state.scrubber is not None:
            text = state.scrubber.scrub_text(text)
        out["value"] = text
    module = _text(value.get("module"), MAX_NAME_CHARS, f"{path}.module", state)
    if module:
        out["module"] = module
    thread_id = value.get("thread_id")
    if type(thread_id) in (int, str) and thread_id != "":
        out["thread_id"] = _text(thread_id, MAX_NAME_CHARS, f"{path}.thread_id", state)
    mechanism = _mechanism(value.get("mechanism"), f"{path}.mechanism", state)
    if mechanism:
        out["mechanism"] = mechanism
    stacktrace = _stacktrace(value.get("stacktrace"), f"{path}.stacktrace", state)
    if stacktrace:
        out["stacktrace"] = stacktrace
    if "type" not in out and "value" not in out and "stacktrace" not in out:
        return None
    return out


def _exceptions(value: Any, state: _State) -> list[dict[str, Any]]:
    items = _values_list(value, "exception", state, ("type", "value", "stacktrace"))
    if len(items) > MAX_EXCEPTIONS:
        state.notes.append(
            f"exception.values: kept the last {MAX_EXCEPTIONS} of {len(items)}"
        )
        items = items[-MAX_EXCEPTIONS:]
    offset = 0
    out = []
    dropped = 0
    for index, item in enumerate(items):
        if type(item) is not dict:
            dropped += 1
            continue
        exc = _exception(item, f"exception.values.{index + offset}", state)
        if exc is None:
            dropped += 1
        else:
            out.append(exc)
    if dropped:
        state.notes.append(
            f"exception.values: dropped {dropped} empty or malformed exceptions"
        )
    return out


def _threads(value: Any, state: _State) -> list[dict[str, Any]]:
    items = _values_list(value, "threads", state, ("id", "stacktrace"))
    if len(items) > MAX_THREADS:
        state.notes.append(
            f"threads.values: kept the first {MAX_THREADS} of {len(items)} threads"
        )
        items = items[:MAX_THREADS]
    out = []
    for index, item in enumerate(items):
        if type(item) is not dict:
            continue
        path = f"threads.values.{index}"
        thread: dict[str, Any] = {}
        for key in ("id", "name", "state"):
            text = _text(item.get(key), MAX_NAME_CHARS, f"{path}.{key}", state)
            if text:
                thread[key] = text
        for key in ("crashed", "current", "main"):
            flag = _bool(item.get(key))
            if flag is not None:
                thread[key] = flag
        stacktrace = _stacktrace(item.get("stacktrace"), f"{path}.stacktrace", state)
        if stacktrace:
            thread["stacktrace"] = stacktrace
        if thread:
            out.append(thread)
    return out
