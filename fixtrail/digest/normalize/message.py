"""The message: ``logentry`` and ``message`` in any of their forms, formatted once."""

from __future__ import annotations

import re
from typing import Any

from fixtrail.digest.normalize.limits import (
    MAX_MESSAGE_CHARS,
    SMALL_LIMITS,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _any_bag,
    _dumps,
    _json_type,
    _shorten,
)

_PERCENT = re.compile(
    r"%(?:\((?P<name>[^()]{1,100})\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
    r"[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(
    r"\{\{|\}\}|\{(?P<field>[^{}!:]{0,100})(?:![rsa])?(?::[^{}]{0,50})?\}"
)


def _param_text(value: Any, conv: str = "s") -> str:
    if type(value) is str:
        return repr(value) if conv == "r" else value
    if value is None:
        return "None"
    if value is True or value is False:
        return str(value)
    if type(value) is int or type(value) is float:
        return str(value)
    return _dumps(value)


def format_template(template: str, params: Any) -> str:
    """Return ``template`` with ``params`` substituted, never raising.

    Understands printf style (``%s``, ``%d``, ``%(name)s``, with flags and
    widths ignored) and brace style (``{}``, ``{0}``, ``{name}``, with format
    specs ignored). Placeholders without a matching parameter stay as they
    are; widths are ignored so a template cannot ask for huge padding.
    """
    if type(params) is dict:
        named: dict[str, Any] = params
        positional: list[Any] = []
    elif type(params) is list:
        named = {}
        positional = params
    elif params is None:
        return template
    else:
        named = {}
        positional = [params]
    if not named and not positional:
        return template
    used = 0

    def percent(match: re.Match[str]) -> str:
        nonlocal used
        conv = match.group("conv")
        if conv == "%":
            return "%"
        name = match.group("name")
        if name is not None:
            if name in named:
                used += 1
                return _param_text(named[name], conv)
            return match.group()
        if used < len(positional):
            used += 1
            return _param_text(positional[used - 1], conv)
        return match.group()

    if "%" in template:
        result = _PERCENT.sub(percent, template)
        if used:
            return result
    if "{" not in template:
        return template
    auto = 0

    def brace(match: re.Match[str]) -> str:
        nonlocal auto
        text = match.group()
        if text == "{{":
            return "{"
        if text == "}}":
            return "}"
        name = match.group("field")
        if name == "":
            if auto < len(positional):
                auto += 1
                return _param_text(positional[auto - 1])
            return text
        if name.isdigit():
            index = int(name)
            return _param_text(positional[index]) if index < len(positional) else text
        return _param_text(named[name]) if name in named else text

    return _BRACE.sub(brace, template)


def _message_text(value: Any, path: str, state: _State) -> str | None:
    if type(value) is str:
        return value
    if value is None:
        return None
    if type(value) in (int, float, bool):
        return _param_text(value)
    state.notes.append(f"{path}: expected a string, got {_json_type(value)}; converted")
    return _dumps(value)


def _logentry(logentry: Any, message: Any, state: _State) -> dict[str, Any] | None:
    template = formatted = params = None
    for value, path in ((logentry, "logentry"), (message, "message")):
        if type(value) is dict:
            if template is None:
                template = _message_text(value.get("message"), f"{path}.message", state)
            if formatted is None:
                formatted = _message_text(
                    value.get("formatted"), f"{path}.formatted", state
                )
            if params is None:
                params = value.get("params")
        elif value is not None:
            # A bare string: the SDK's final text, template or not.
            text = _message_text(value, path, state)
            if formatted is None:
                formatted = text
            elif template is None:
                template = text
    scrubber = state.scrubber
    if params is not None:
        if type(params) not in (list, dict):
            params = [params]
        params = (
            _any_bag(params, "logentry.params", SMALL_LIMITS, scrubber, state) or None
        )
    if formatted is None and template is not None:
        formatted = (
            format_template(template, params) if params is not None else template
        )
    if not formatted and not template:
        return None
    out: dict[str, Any] = {}
    formatted = formatted or template or ""
    if len(formatted) > MAX_MESSAGE_CHARS:
        state.notes.append(
            f"logentry.formatted: shortened to {MAX_MESSAGE_CHARS} characters"
        )
        formatted = _shorten(formatted, MAX_MESSAGE_CHARS)
    if scrubber is not None:
        formatted = scrubber.scrub_text(formatted)
    out["formatted"] = formatted
    if template and template != formatted:
        template = _shorten(template, MAX_MESSAGE_CHARS)
        out["message"] = scrubber.scrub_text(template) if scrubber else template
    if params:
        out["params"] = params
    return out
