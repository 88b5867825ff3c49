"""Shape a stored (normalized) event the way Sentry's web API shows events.

The API does not return the event as the SDK sent it: it splits the
interfaces into a list of ``entries``, each ``{"type": ..., "data": ...}``,
and renames fields to camelCase. For example the protocol's::

    {"exception": {"values": [{"type": "ValueError", "value": "bad",
        "stacktrace": {"frames": [{"filename": "app.py", "lineno": 3,
            "in_app": true, "context_line": "raise ValueError('bad')"}]}}]}}

becomes the entry::

    {"type": "exception", "data": {"values": [{"type": "ValueError",
        "value": "bad", "module": null, "mechanism": null, "threadId": null,
        "rawStacktrace": null, "stacktrace": {"frames": [{"filename": "app.py",
            "lineNo": 3, "inApp": true, "context": [[3, "raise ValueError('bad')"]],
            ...}], "framesOmitted": null, "registers": null,
            "hasSystemFrames": false}}],
        "excOmitted": null, "hasSystemFrames": false}}

Entries come in Sentry's order: exception, stacktrace, threads, message,
breadcrumbs, request.
Event data is hostile input: every field is type-checked before use, and
every loop is bounded. Pure functions, no Django.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

# Bounds on what one answer carries; SDKs send far less (the Python SDK
# keeps 100 breadcrumbs, a few exceptions and a few hundred frames).
MAX_EXCEPTIONS = 50
MAX_FRAMES = 500
MAX_BREADCRUMBS = 500
MAX_PAIRS = 500
MAX_TAGS = 500


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _values(interface: Any) -> list:
    """Return an interface's list of items: ``{"values": [...]}`` or a list."""
    if isinstance(interface, dict):
        return _list(interface.get("values"))
    return _list(interface)


def iso_timestamp(value: Any) -> str | None:
    """Return an event timestamp (epoch seconds or ISO text) as ISO 8601 UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            moment = dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return value
    return None


def frame_context(frame: dict) -> list[list]:
    """Return a frame's source lines as ``[[lineno, line], ...]``."""
    lineno = _int(frame.get("lineno"))
    current = frame.get("context_line")
    if lineno is None or not isinstance(current, str):
        return []
    before = [line for line in _list(frame.get("pre_context")) if isinstance(line, str)]
    after = [line for line in _list(frame.get("post_context")) if isinstance(line, str)]
    first = lineno - len(before)
    lines = [*before, current, *after]
    return [[first + i, line] for i, line in enumerate(lines)]


def api_frame(frame: Any) -> dict:
    """Return one stack frame in the API's camelCase shape."""
    frame = _dict(frame)
    in_app = frame.get("in_app")
    return {
        "filename": _str(frame.get("filename")),
        "absPath": _str(frame.get("abs_path")),
        "module": _str(frame.get("module")),
        "package": _str(frame.get("package")),
        "platform": _str(frame.get("platform")),
        "instructionAddr": _str(frame.get("instruction_addr")),
        "symbolAddr": _str(frame.get("symbol_addr")),
        "function": _str(frame.get("function")),
        "rawFunction": _str(frame.get("raw_function")),
        "symbol": _str(frame.get("symbol")),
        "context": frame_context(frame),
        "lineNo": _int(frame.get("lineno")),
        "colNo": _int(frame.get("colno")),
        "inApp": in_app if isinstance(in_app, bool) else False,
        "trust": _str(frame.get("trust")),
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": frame.get("vars") if isinstance(frame.get("vars"), dict) else None,
    }


def _has_system_frames(frames: list[dict]) -> bool:
    # Sentry's definition: the trace mixes app and library frames.
    flags = {frame["inApp"] for frame in frames}
    return flags == {True, False}


def api_stacktrace(stacktrace: Any) -> dict | None:
    """Return a stack trace with its frames (oldest first), or None."""
    if not isinstance(stacktrace, dict):
        return None
    frames = [api_frame(f) for f in _list(stacktrace.get("frames"))[-MAX_FRAMES:]]
    return {
        "frames": frames,
        "framesOmitted": None,
        "registers": stacktrace.get("registers")
        if isinstance(stacktrace.get("registers"), dict)
        else None,
        "hasSystemFrames": _has_system_frames(frames),
    }


def exception_entry(data: dict) -> dict | None:
    """Return the ``exception`` entry, or None when the event has none."""
    values = []
    for value in _values(data.get("exception"))[:MAX_EXCEPTIONS]:
        value = _dict(value)
        stacktrace = api_stacktrace(value.get("stacktrace"))
        values.append(
            {
                "type": _str(value.get("type")),
                "value": _str(value.get("value")),
                "module": _str(value.get("module")),
                "mechanism": value.get("mechanism")
                if isinstance(value.get("mechanism"), dict)
                else None,
                "threadId": value.get("thread_id"),
                "stacktrace": stacktrace,
                # The minified or obfuscated frames, when digest resolved
                # them through an uploaded artifact.
                "rawStacktrace": api_stacktrace(value.get("raw_stacktrace")),
            }
        )
    if not values:
        return None
    has_system = any(
        v["stacktrace"] and v["stacktrace"]["hasSystemFrames"] for v in values
    )
    return {
        "type": "exception",
        "data": {"values": values, "excOmitted": None, "hasSystemFrames": has_system},
    }


def stacktrace_entry(data: dict) -> dict | None:
    """Return the ``stacktrace`` entry of an event without exception."""
    stacktrace = api_stacktrace(data.get("stacktrace"))
    if stacktrace is None or not stacktrace["frames"]:
        return None
    return {"type": "stacktrace", "data": stacktrace}


def threads_entry(data: dict) -> dict | None:
    """Return the ``threads`` entry, or None when the event lists no threads."""
    threads = []
    for thread in _values(data.get("threads"))[:MAX_EXCEPTIONS]:
        thread = _dict(thread)
        threads.append(
            {
                "id": thread.get("id"),
                "name": _str(thread.get("name")),
                "crashed": thread.get("crashed") is True,
                "current": thread.get("current") is True,
                "stacktrace": api_stacktrace(thread.get("stacktrace")),
                # The minified or obfuscated frames, when digest resolved
                # them through an uploaded artifact.
                "rawStacktrace": api_stacktrace(thread.get("raw_stacktrace")),
            }
        )
    if not threads:
        return None
    return {"type": "threads", "data": {"values": threads}}


def message_text(data: dict) -> tuple[str | None, str | None, Any]:
    """Return (formatted, template, params) of the event's log message."""
    logentry = data.get("logentry")
    if logentry is None:
        logentry = data.get("message")
    if isinstance(logentry, str):
        return logentry, None, None
    logentry = _dict(logentry)
    template = _str(logentry.get("message"))
    formatted = _str(logentry.get("formatted")) or template
    params = logentry.get("params")
    return formatted, template if template != formatted else None, params


def message_entry(data: dict) -> dict | None:
    """Return the ``message`` entry, or None when the event logs no message."""
    formatted, template, params = message_text(data)
    if not formatted:
        return None
    return {
        "type": "message",
        "data": {"formatted": formatted, "message": template, "params": params},
    }


def breadcrumbs_entry(data: dict) -> dict | None:
    """Return the ``breadcrumbs`` entry, or None when there are none."""
    crumbs = []
    for crumb in _values(data.get("breadcrumbs"))[-MAX_BREADCRUMBS:]:
        crumb = _dict(crumb)
        crumbs.append(
            {
                "type": _str(crumb.get("type")) or "default",
                "timestamp": iso_timestamp(crumb.get("timestamp")),
                "level": _str(crumb.get("level")) or "info",
                "message": _str(crumb.get("message")),
                "category": _str(crumb.get("category")),
                "data": crumb.get("data")
                if isinstance(crumb.get("data"), dict)
                else None,
                "event_id": _str(crumb.get("event_id")),
            }
        )
    if not crumbs:
        return None
    return {"type": "breadcrumbs", "data": {"values": crumbs}}


def pairs(value: Any) -> list[list[str]] | None:
    """Return headers, cookies or a query as ``[[name, value], ...]``.

    The protocol allows a dict, a list of pairs, or (query and cookies) a
    raw string; the API always answers pairs.
    """
    if value is None:
        return None
    if isinstance(value, str):
        separator = ";" if "=" in value and ";" in value else "&"
        items = parse_qsl(value.replace(separator, "&"), keep_blank_values=True)
        return [[name.strip(), text] for name, text in items[:MAX_PAIRS]]
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = [
            tuple(p)
            for p in _list(value)
            if isinstance(p, list | tuple) and len(p) == 2
        ]
    return [[_str(name) or "", _str(text) or ""] for name, text in items[:MAX_PAIRS]]


def request_entry(data: dict) -> dict | None:
    """Return the ``request`` entry, or None when the event has no request."""
    request = data.get("request")
    if not isinstance(request, dict) or not request:
        return None
    headers = pairs(request.get("headers")) or []
    content_type = next(
        (value for name, value in headers if name.lower() == "content-type"), None
    )
    return {
        "type": "request",
        "data": {
            "apiTarget": None,
            "method": _str(request.get("method")),
            "url": _str(request.get("url")),
            "query": pairs(request.get("query_string")) or [],
            "fragment": _str(request.get("fragment")),
            "data": request.get("data"),
            "headers": headers,
            "cookies": pairs(request.get("cookies")) or [],
            "env": request.get("env") if isinstance(request.get("env"), dict) else None,
            "inferredContentType": content_type,
        },
    }


def event_entries(data: dict) -> list[dict]:
    """Return the event's entries in Sentry's order, skipping absent ones."""
    makers = (
        exception_entry,
        stacktrace_entry,
        threads_entry,
        message_entry,
        breadcrumbs_entry,
        request_entry,
    )
    return [entry for entry in (make(data) for make in makers) if entry is not None]


def event_tags(data: dict) -> list[dict]:
    """Return the event's tags as ``[{"key": ..., "value": ...}]``, sorted.

    The protocol allows a dict or a list of pairs. Level, environment and
    release are tags in Sentry's answers too, so they are added when the
    event has them and its tags do not.
    """
    raw = data.get("tags")
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        items = [
            tuple(p) for p in _list(raw) if isinstance(p, list | tuple) and len(p) == 2
        ]
    tags = {str(key): _str(value) or "" for key, value in items[:MAX_TAGS]}
    for key in ("level", "environment", "release"):
        value = data.get(key)
        if key not in tags and isinstance(value, str) and value:
            tags[key] = value
    return [{"key": key, "value": tags[key]} for key in sorted(tags)]


def event_user(data: dict) -> dict | None:
    """Return the event's user in the API's shape, or None."""
    user = data.get("user")
    if not isinstance(user, dict) or not user:
        return None
    known = ("id", "email", "username", "ip_address", "name")
    extra = {key: value for key, value in user.items() if key not in known}
    return {
        "id": _str(user.get("id")),
        "email": _str(user.get("email")),
        "username": _str(user.get("username")),
        "ip_address": _str(user.get("ip_address")),
        "name": _str(user.get("name")),
        "data": extra or None,
    }


def event_sdk(data: dict) -> dict | None:
    """Return ``{"name", "version"}`` of the SDK that sent the event, or None."""
    sdk = data.get("sdk")
    if not isinstance(sdk, dict):
        return None
    return {"name": _str(sdk.get("name")), "version": _str(sdk.get("version"))}


def event_location(data: dict) -> str | None:
    """Return the file of the innermost in-app frame, Sentry's ``location``."""
    for value in reversed(_values(data.get("exception"))):
        frames = _list(_dict(_dict(value).get("stacktrace")).get("frames"))
        for frame in reversed(frames[-MAX_FRAMES:]):
            frame = _dict(frame)
            if frame.get("in_app") is True:
                return _str(frame.get("filename") or frame.get("abs_path"))
    return None


def event_metadata(data: dict) -> dict:
    """Return Sentry's event ``metadata``: the raised exception's type and
    value and where it happened, or the message's first line as ``title``."""
    values = _values(data.get("exception"))
    if values:
        last = _dict(values[-1])
        metadata = {"type": _str(last.get("type")), "value": _str(last.get("value"))}
        frames = _list(_dict(last.get("stacktrace")).get("frames"))[-MAX_FRAMES:]
        in_app = [_dict(f) for f in frames if _dict(f).get("in_app") is True]
        top = in_app[-1] if in_app else (_dict(frames[-1]) if frames else {})
        if top:
            metadata["filename"] = _str(top.get("filename") or top.get("abs_path"))
            metadata["function"] = _str(top.get("function"))
        return metadata
    formatted, _, _ = message_text(data)
    return {"title": (formatted or "").splitlines()[0] if formatted else ""}


def event_type(data: dict) -> str:
    """Return Sentry's event type: "error" with an exception, else "default"."""
    if data.get("type") == "csp":
        return "csp"
    return "error" if _values(data.get("exception")) else "default"
