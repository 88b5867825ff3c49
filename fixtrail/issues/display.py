"""Turn a stored event (a normalized dict) into plain values for its page.

Everything in an event came from a client and may be malformed or hostile,
so each reader here checks types, accepts the shapes SDKs send (``{"values":
[...]}`` or a bare list; dicts or lists of pairs), bounds every loop and
every string, and returns only strings, numbers and small dataclasses. The
templates escape all of it; nothing here produces HTML.

No Django imports: these are pure functions over dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fixtrail.lib import timefmt

# Bounds on what one page renders. Sentry's SDKs send at most 100
# breadcrumbs, 50 exceptions in a chain and a few hundred frames; more than
# these is a damaged or hostile event and is cut with a note.
MAX_EXCEPTIONS = 50
MAX_FRAMES = 1000
MAX_CONTEXT_LINES = 25  # per side of the current line
MAX_BREADCRUMBS = 200
MAX_PAIRS = 300  # entries of any one dict or table
MAX_VALUE_CHARS = 4000  # one rendered value; longer ones end with "…"
MAX_LINE_CHARS = 500  # one line of source context
MAX_LIST_ITEMS = 300  # SDK integrations and packages

# Context sections people look for first; others follow alphabetically.
CONTEXT_ORDER = ("os", "browser", "runtime", "device", "app", "gpu", "culture", "trace")


@dataclass
class Frame:
    filename: str
    function: str
    module: str
    package: str
    lineno: int | None
    colno: int | None
    in_app: bool
    # (line number or None, text, is the current line)
    context: list[tuple[int | None, str, bool]]
    variables: list[tuple[str, str]]
    address: str

    @property
    def has_details(self) -> bool:
        return bool(self.context or self.variables)


@dataclass
class Stacktrace:
    """Frames most recent call first, as the page shows them."""

    frames: list[Frame]
    omitted: int = 0

    @property
    def has_app_frames(self) -> bool:
        return any(frame.in_app for frame in self.frames)

    @property
    def app_frame_count(self) -> int:
        return sum(1 for frame in self.frames if frame.in_app)

    @property
    def hides_frames(self) -> bool:
        """True when the default view (in-app frames only) hides some."""
        return self.has_app_frames and self.app_frame_count < len(self.frames)

    @property
    def first_open(self) -> int:
        """Index of the frame shown expanded: the most recent in-app frame
        with source or variables, else the most recent such frame; -1 when
        no frame has details."""
        app_only = self.has_app_frames
        for i, frame in enumerate(self.frames):
            if frame.has_details and (frame.in_app or not app_only):
                return i
        return -1


@dataclass
class ExceptionInfo:
    type: str
    value: str
    module: str
    mechanism: str
    handled: bool | None
    stacktrace: Stacktrace | None


@dataclass
class Breadcrumb:
    timestamp: datetime | None
    offset: str
    type: str
    category: str
    level: str
    message: str
    data: list[tuple[str, str]]


@dataclass
class RequestInfo:
    method: str
    url: str
    url_is_http: bool
    query: list[tuple[str, str]]
    fragment: str
    headers: list[tuple[str, str]]
    cookies: list[tuple[str, str]]
    body: str
    env: list[tuple[str, str]]


@dataclass
class Sdk:
    name: str
    version: str
    integrations: list[str] = field(default_factory=list)
    packages: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EventView:
    """Everything the event part of the issue page shows."""

    message: str
    exceptions: list[ExceptionInfo]
    threads: list[tuple[str, Stacktrace]]
    stacktrace: Stacktrace | None
    breadcrumbs: list[Breadcrumb]
    breadcrumbs_omitted: int
    request: RequestInfo | None
    user: list[tuple[str, str]]
    contexts: list[tuple[str, list[tuple[str, str]]]]
    tags: list[tuple[str, str]]
    extra: list[tuple[str, str]]
    sdk: Sdk | None
    fingerprint: list[str]
    summary: list[tuple[str, str]]

    @property
    def hides_frames(self) -> bool:
        """True when some stack trace has frames hidden by default."""
        stacks = [e.stacktrace for e in self.exceptions if e.stacktrace]
        stacks += [stack for _, stack in self.threads]
        if self.stacktrace:
            stacks.append(self.stacktrace)
        return any(stack.hides_frames for stack in stacks)


def event_view(data: dict[str, Any]) -> EventView:
    """Return the display form of the normalized event ``data``."""
    timestamp = timefmt.parse_timestamp(data.get("timestamp"))
    exceptions = [_exception(item) for item in _values(data.get("exception"))]
    crumbs = _values(data.get("breadcrumbs"))
    return EventView(
        message=event_message(data),
        exceptions=exceptions[-MAX_EXCEPTIONS:][::-1],
        threads=_threads(data) if not any(e.stacktrace for e in exceptions) else [],
        stacktrace=_stacktrace(data.get("stacktrace")),
        breadcrumbs=[
            _breadcrumb(crumb, timestamp)
            for crumb in crumbs[-MAX_BREADCRUMBS:]
            if isinstance(crumb, dict)
        ],
        breadcrumbs_omitted=max(len(crumbs) - MAX_BREADCRUMBS, 0),
        request=_request(data.get("request")),
        user=_user_pairs(data.get("user")),
        contexts=_contexts(data.get("contexts")),
        tags=pairs(data.get("tags")),
        extra=pairs(data.get("extra")),
        sdk=_sdk(data.get("sdk")),
        fingerprint=[text(part) for part in _list(data.get("fingerprint"))],
        summary=_summary(data),
    )


def event_message(data: dict[str, Any]) -> str:
    """Return the event's log message: logentry.formatted, logentry.message,
    or a bare message string, whichever comes first."""
    for source in (data.get("logentry"), data.get("message")):
        if isinstance(source, str) and source:
            return clip(source)
        if isinstance(source, dict):
            for key in ("formatted", "message"):
                if isinstance(source.get(key), str) and source[key]:
                    return clip(source[key])
    return ""


def pairs(value: Any) -> list[tuple[str, str]]:
    """Return the (key, rendered value) pairs of a dict or a list of pairs.

    Accepts {"k": v}, [["k", v]] and [{"key": k, "value": v}]; anything else
    gives no pairs. Keys and values come back as bounded strings.
    """
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = (_pair(item) for item in value)
    else:
        return out
    for item in items:
        if item is None:
            continue
        if len(out) == MAX_PAIRS:
            out.append(("…", "more entries omitted"))
            break
        key, val = item
        out.append((clip(text(key), MAX_LINE_CHARS), render_value(val)))
    return out


def _pair(item: Any) -> tuple[Any, Any] | None:
    if isinstance(item, list | tuple) and len(item) == 2:
        return item[0], item[1]
    if isinstance(item, dict) and "key" in item:
        return item.get("key"), item.get("value")
    return None


def render_value(value: Any) -> str:
    """Return a value as text: strings as they are, numbers and booleans as
    JSON, containers as indented JSON, cut at MAX_VALUE_CHARS."""
    if isinstance(value, str):
        return clip(value)
    if value is None:
        return "null"
    try:
        rendered = json.dumps(
            value,
            indent=2 if isinstance(value, dict | list) else None,
            ensure_ascii=False,
            default=str,
        )
    except (TypeError, ValueError, RecursionError):
        rendered = repr(value)
    return clip(rendered)


def text(value: Any) -> str:
    """Return ``value`` as a short string ("" for None)."""
    if value is None:
        return ""
    return clip(value if isinstance(value, str) else render_value(value))


def clip(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Return ``value`` cut to ``limit`` characters, marked with "…"."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def is_http_url(url: str) -> bool:
    """Return True for an absolute http(s) URL with a host: the only URLs
    the pages turn into links."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _values(value: Any) -> list:
    if isinstance(value, dict):
        value = value.get("values")
    return value if isinstance(value, list) else []


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _exception(item: Any) -> ExceptionInfo:
    item = _dict(item)
    mechanism = _dict(item.get("mechanism"))
    handled = mechanism.get("handled")
    return ExceptionInfo(
        type=text(item.get("type")),
        value=text(item.get("value")),
        module=text(item.get("module")),
        mechanism=text(mechanism.get("type")),
        handled=handled if isinstance(handled, bool) else None,
        stacktrace=_stacktrace(item.get("stacktrace")),
    )


def _threads(data: dict) -> list[tuple[str, Stacktrace]]:
    out = []
    for thread in _values(data.get("threads"))[:MAX_EXCEPTIONS]:
        thread = _dict(thread)
        stack = _stacktrace(thread.get("stacktrace"))
        if stack is None:
            continue
        name = text(thread.get("name")) or f"Thread {text(thread.get('id'))}"
        if thread.get("crashed") is True:
            name += " (crashed)"
        out.append((name, stack))
    return out


def _stacktrace(value: Any) -> Stacktrace | None:
    frames = [f for f in _list(_dict(value).get("frames")) if isinstance(f, dict)]
    if not frames:
        return None
    kept = frames[-MAX_FRAMES:]
    return Stacktrace(
        frames=[_frame(frame) for frame in reversed(kept)],
        omitted=len(frames) - len(kept),
    )


def _frame(frame: dict) -> Frame:
    lineno = _int(frame.get("lineno"))
    return Frame(
        filename=text(frame.get("filename") or frame.get("abs_path")),
        function=text(frame.get("function") or frame.get("raw_function")),
        module=text(frame.get("module")),
        package=text(frame.get("package")),
        lineno=lineno,
        colno=_int(frame.get("colno")),
        in_app=frame.get("in_app") is True,
        context=_context(frame, lineno),
        variables=pairs(frame.get("vars")),
        address=text(frame.get("instruction_addr")),
    )


def _context(frame: dict, lineno: int | None) -> list[tuple[int | None, str, bool]]:
    current = frame.get("context_line")
    if not isinstance(current, str):
        return []
    pre = [line for line in _list(frame.get("pre_context")) if isinstance(line, str)]
    post = [line for line in _list(frame.get("post_context")) if isinstance(line, str)]
    pre, post = pre[-MAX_CONTEXT_LINES:], post[:MAX_CONTEXT_LINES]

    def number(delta: int) -> int | None:
        return lineno + delta if lineno is not None else None

    lines = [
        (number(i - len(pre)), clip(line, MAX_LINE_CHARS), False)
        for i, line in enumerate(pre)
    ]
    lines.append((lineno, clip(current, MAX_LINE_CHARS), True))
    lines += [
        (number(i + 1), clip(line, MAX_LINE_CHARS), False)
        for i, line in enumerate(post)
    ]
    return lines


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _breadcrumb(crumb: dict, event_time: datetime | None) -> Breadcrumb:
    moment = timefmt.parse_timestamp(crumb.get("timestamp"))
    offset = ""
    if moment is not None and event_time is not None:
        offset = timefmt.offset((moment - event_time).total_seconds())
    return Breadcrumb(
        timestamp=moment,
        offset=offset,
        type=text(crumb.get("type")) or "default",
        category=text(crumb.get("category")),
        level=text(crumb.get("level")) or "info",
        message=text(crumb.get("message")),
        data=pairs(crumb.get("data")),
    )


def _request(value: Any) -> RequestInfo | None:
    request = _dict(value)
    if not request:
        return None
    url = text(request.get("url"))
    query = request.get("query_string")
    body = request.get("data")
    return RequestInfo(
        method=text(request.get("method")),
        url=url,
        url_is_http=is_http_url(url),
        query=[("", clip(query))] if isinstance(query, str) and query else pairs(query),
        fragment=text(request.get("fragment")),
        headers=pairs(request.get("headers")),
        cookies=[("", clip(request["cookies"]))]
        if isinstance(request.get("cookies"), str) and request["cookies"]
        else pairs(request.get("cookies")),
        body="" if body is None else render_value(body),
        env=pairs(request.get("env")),
    )


def _flat_pairs(value: Any) -> list[tuple[str, str]]:
    """Pairs of a dict whose nested dicts (user.geo, user.data) are shown as
    "geo.city" rows rather than JSON blocks."""
    out: list[tuple[str, str]] = []
    for key, val in _dict(value).items():
        if len(out) >= MAX_PAIRS:
            break
        if isinstance(val, dict):
            out += [(f"{text(key)}.{k}", v) for k, v in pairs(val)]
        elif val is not None and val != "":
            out.append((clip(text(key), MAX_LINE_CHARS), render_value(val)))
    return out[:MAX_PAIRS]


# A person reads an e-mail or a username; ids and addresses come after.
_USER_KEY_ORDER = ("email", "username", "name", "id", "ip_address")


def _user_pairs(value: Any) -> list[tuple[str, str]]:
    """The event's user, e-mail and username before id and IP address."""
    rank = {key: i for i, key in enumerate(_USER_KEY_ORDER)}
    rows = _flat_pairs(value)
    return sorted(rows, key=lambda row: rank.get(row[0], len(rank)))


def _contexts(value: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    contexts = _dict(value)
    order = {name: i for i, name in enumerate(CONTEXT_ORDER)}
    names = sorted(
        (name for name in contexts if isinstance(contexts[name], dict)),
        key=lambda name: (order.get(name, len(order)), str(name)),
    )
    out = []
    for name in names[:MAX_PAIRS]:
        rows = [(k, v) for k, v in _flat_pairs(contexts[name]) if k != "type"]
        if rows:
            out.append((clip(str(name), MAX_LINE_CHARS), rows))
    return out


def _sdk(value: Any) -> Sdk | None:
    sdk = _dict(value)
    if not sdk:
        return None
    packages = []
    for package in _list(sdk.get("packages"))[:MAX_LIST_ITEMS]:
        package = _dict(package)
        packages.append((text(package.get("name")), text(package.get("version"))))
    return Sdk(
        name=text(sdk.get("name")),
        version=text(sdk.get("version")),
        integrations=[text(i) for i in _list(sdk.get("integrations"))[:MAX_LIST_ITEMS]],
        packages=packages,
    )


def _summary(data: dict) -> list[tuple[str, str]]:
    """The short facts shown above the event's sections."""
    rows = []
    for key, label in (
        ("level", "Level"),
        ("platform", "Platform"),
        ("release", "Release"),
        ("dist", "Distribution"),
        ("environment", "Environment"),
        ("server_name", "Server"),
        ("transaction", "Transaction"),
        ("logger", "Logger"),
    ):
        value = data.get(key)
        if value not in (None, ""):
            rows.append((label, text(value)))
    return rows
