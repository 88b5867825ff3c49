"""Turn an event as an SDK sent it into Fixtrail's one clean form.

SDKs disagree on shapes. ``normalize_event`` accepts all the shapes listed
below and returns a :class:`NormalizedEvent` whose ``data`` always has the
same form, plus the fields the issue list shows, derived once::

    in:  {"message": "hi %s", "tags": [["a", 1]],
          "timestamp": "2025-01-02T03:04:05Z",
          "exception": [{"type": "E", "stacktrace": {"frames": null}}],
          "user": {"id": 42}, "platform": "crystal"}
    out: {"event_id": "", "platform": "other", "timestamp": 1735787045.0,
          "received": 1735787046.5, "level": "error",
          "logentry": {"formatted": "hi %s"},
          "exception": {"values": [{"type": "E"}]},
          "tags": [["a", "1"]], "user": {"id": "42"},
          "_notes": ["platform: unknown platform 'crystal'; used 'other'"]}

The clean form (every key except ``event_id``, ``platform``, ``timestamp``,
``received`` and ``level`` is omitted when empty):

- ``event_id`` 32 lowercase hex, or ``""`` when neither the payload nor the
  caller had a valid one; ``timestamp`` and ``received`` float epoch seconds;
  ``platform`` one of KNOWN_PLATFORMS or ``"other"``; ``level`` one of LEVELS.
- ``logger``, ``transaction``, ``server_name``, ``release``, ``dist``,
  ``environment``, ``culprit`` (as the SDK sent it), ``type``: strings.
- ``logentry``: ``{"formatted": str, "message": template, "params": [..] or
  {..}}`` built from ``logentry`` and/or ``message`` in any of their forms;
  ``message`` is kept only when it differs from ``formatted``.
- ``exception``: ``{"values": [exception, ...]}``, oldest cause first and the
  exception that was finally raised last; each has ``type``, ``value``,
  ``module``, ``thread_id``, ``mechanism`` (including exception-group
  ``exception_id``/``parent_id``) and ``stacktrace``.
- ``stacktrace`` (events without exception) and ``threads``
  (``{"values": [...]}``): stack traces are ``{"frames": [frame, ...]}``
  with the caller first; frames keep only known keys with checked types.
- ``breadcrumbs``: ``{"values": [...]}``, the newest MAX_BREADCRUMBS.
- ``tags``: ``[[key, value], ...]``, strings, one pair per key.
- ``user``: ``id``, ``email``, ``username``, ``ip_address``, ``name``,
  ``segment`` as strings, plus ``geo`` and ``data``.
- ``request``: ``url`` (without query or fragment), ``method``,
  ``query_string`` and ``headers`` and ``cookies`` as ``[[name, value], ...]``,
  ``data``, ``env``, ``fragment``.
- ``contexts``, ``extra``, ``modules``, ``sdk``, ``debug_meta``,
  ``transaction_info``, ``csp``: bounded JSON objects.
- ``fingerprint``: a list of strings.
- ``_notes``: what was trimmed, filtered, coerced or dropped, one sentence
  each (also in ``NormalizedEvent.notes``).

Nothing here raises on event content, except :class:`InvalidEvent` when the
top level is not a JSON object. Unknown top-level fields are dropped (and
noted). The result may share unchanged leaf values with ``data``; the input
itself is never modified.

``search_text`` is computed here (title, culprit, message, exception types
and values, transaction), so persistence only has to store it.

This module holds the entry point; each part of an event has a module of
its own: ``limits`` (every bound), ``model`` (options, result, run state),
``values`` (scalars and bounded JSON bags), ``top_level`` (event id,
platform, level, timestamp), ``message``, ``stacktraces`` (exceptions,
threads, frames), ``breadcrumbs``, ``tags``, ``user``, ``request``,
``contexts`` (contexts, modules, fingerprint) and ``derived`` (title,
culprit, user key, derived tags, search text).
"""

from __future__ import annotations

from typing import Any

from fixtrail.digest.fingerprint_rules import platform_family
from fixtrail.digest.normalize.breadcrumbs import (
    _breadcrumbs,
)
from fixtrail.digest.normalize.contexts import (
    _contexts,
    _fingerprint,
    _modules,
)
from fixtrail.digest.normalize.derived import (
    _culprit,
    _derived_tags,
    _infer_ip,
    _remote_addr,
    _search_text,
    _title,
    _user_key,
)
from fixtrail.digest.normalize.limits import (
    _SILENTLY_DROPPED,
    DATABAG_LIMITS,
    DEBUG_META_LIMITS,
    MAX_CULPRIT_CHARS,
    MAX_DIST_CHARS,
    MAX_ENVIRONMENT_CHARS,
    MAX_LOGGER_CHARS,
    MAX_RELEASE_CHARS,
    MAX_SERVER_NAME_CHARS,
    MAX_TRANSACTION_CHARS,
    SDK_LIMITS,
    SMALL_LIMITS,
)
from fixtrail.digest.normalize.message import (
    _logentry,
)
from fixtrail.digest.normalize.model import (
    DEFAULT_OPTIONS,
    InvalidEvent,
    NormalizedEvent,
    NormalizeOptions,
    _State,
)
from fixtrail.digest.normalize.request import (
    _request,
)
from fixtrail.digest.normalize.stacktraces import (
    _exceptions,
    _stacktrace,
    _threads,
)
from fixtrail.digest.normalize.tags import (
    _tags,
)
from fixtrail.digest.normalize.top_level import (
    _event_id,
    _level,
    _platform,
    _timestamp,
)
from fixtrail.digest.normalize.user import (
    _user,
)
from fixtrail.digest.normalize.values import (
    _json_type,
    _object_bag,
    _shorten,
    _text,
)

__all__ = ["InvalidEvent", "NormalizeOptions", "NormalizedEvent", "normalize_event"]

_SHORT_FIELDS = (
    ("logger", MAX_LOGGER_CHARS),
    ("transaction", MAX_TRANSACTION_CHARS),
    ("server_name", MAX_SERVER_NAME_CHARS),
    ("release", MAX_RELEASE_CHARS),
    ("dist", MAX_DIST_CHARS),
    ("environment", MAX_ENVIRONMENT_CHARS),
    ("culprit", MAX_CULPRIT_CHARS),
    ("type", 32),
)

_KNOWN_KEYS = frozenset(
    {
        "event_id",
        "platform",
        "timestamp",
        "level",
        "logentry",
        "message",
        "exception",
        "stacktrace",
        "threads",
        "breadcrumbs",
        "tags",
        "user",
        "request",
        "contexts",
        "extra",
        "modules",
        "sdk",
        "debug_meta",
        "transaction_info",
        "fingerprint",
        "csp",
    }
    | {name for name, _ in _SHORT_FIELDS}
)


def _all_frame_lists(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    lists = [
        exc["stacktrace"]["frames"]
        for exc in data.get("exception", {}).get("values", ())
        if "stacktrace" in exc
    ]
    if "stacktrace" in data:
        lists.append(data["stacktrace"]["frames"])
    for thread in data.get("threads", {}).get("values", ()):
        if "stacktrace" in thread:
            lists.append(thread["stacktrace"]["frames"])
    return lists


def normalize_event(
    data: Any,
    *,
    received_at: float,
    clock_drift: float = 0.0,
    options: NormalizeOptions = DEFAULT_OPTIONS,
    event_id: str | None = None,
    client_ip: str | None = None,
) -> NormalizedEvent:
    """Return the clean form of one event and the fields derived from it.

    ``data`` is the parsed event JSON, exactly as the SDK sent it.
    ``received_at`` (epoch seconds, server clock) stands in for a missing or
    absurd timestamp; ``clock_drift`` (seconds, server minus device clock) is
    added to the event's timestamp when it is a minute or more. ``event_id``
    and ``client_ip`` come from the queue header: the former wins over the
    payload's, the latter fills in ``user.ip_address`` when the SDK asks for
    it (``"{{auto}}"``, or ``sdk.settings.infer_ip == "auto"``).

    Scrubbing and IP dropping follow ``options``. Stack-trace rules in
    ``options`` set frames' ``in_app`` before the culprit is chosen.

    Raises InvalidEvent only when ``data`` is not a JSON object; any content
    problem is repaired or dropped and described in ``notes``. Costs one
    walk over the event; the input is not modified.
    """
    if not isinstance(data, dict):
        raise InvalidEvent(f"an event must be a JSON object, not {_json_type(data)}")
    state = _State(options)
    notes = state.notes
    out: dict[str, Any] = {}
    out["event_id"] = _event_id(data.get("event_id"), event_id, state)
    platform = _platform(data.get("platform"), state)
    out["platform"] = platform
    out["timestamp"] = _timestamp(
        data.get("timestamp"), received_at, clock_drift, state
    )
    out["received"] = received_at
    out["level"] = _level(data.get("level"), state)
    for name, limit in _SHORT_FIELDS:
        text = _text(data.get(name), limit, name, state)
        if text is not None:
            text = text.strip()
            if text:
                out[name] = text
    logentry = _logentry(data.get("logentry"), data.get("message"), state)
    if logentry:
        out["logentry"] = logentry
    exceptions = _exceptions(data.get("exception"), state)
    if exceptions:
        out["exception"] = {"values": exceptions}
    stacktrace = _stacktrace(data.get("stacktrace"), "stacktrace", state)
    if stacktrace:
        out["stacktrace"] = stacktrace
    threads = _threads(data.get("threads"), state)
    if threads:
        out["threads"] = {"values": threads}
    breadcrumbs = _breadcrumbs(data.get("breadcrumbs"), state)
    if breadcrumbs:
        out["breadcrumbs"] = {"values": breadcrumbs}
    tags = _tags(data.get("tags"), state)
    if tags:
        out["tags"] = tags
    sdk = _object_bag(data.get("sdk"), "sdk", SDK_LIMITS, None, state)
    user, user_ip = _user(data.get("user"), client_ip, _infer_ip(sdk), state)
    if user:
        out["user"] = user
    request = _request(data.get("request"), state)
    if request:
        out["request"] = request
    if user_ip is None:
        user_ip = _remote_addr(data.get("request"))
    contexts = _contexts(data.get("contexts"), state)
    if contexts:
        out["contexts"] = contexts
    scrubber = state.scrubber
    for name, limits, scrub in (
        ("extra", DATABAG_LIMITS, scrubber),
        ("debug_meta", DEBUG_META_LIMITS, None),
        ("transaction_info", SMALL_LIMITS, None),
        ("csp", SMALL_LIMITS, scrubber),
    ):
        bag = _object_bag(data.get(name), name, limits, scrub, state)
        if bag:
            out[name] = bag
    if sdk:
        out["sdk"] = sdk
    modules = _modules(data.get("modules"), state)
    if modules:
        out["modules"] = modules
    fingerprint = _fingerprint(data.get("fingerprint"), state)
    if fingerprint:
        out["fingerprint"] = fingerprint
    unknown = sorted(
        k for k in data if k not in _KNOWN_KEYS and k not in _SILENTLY_DROPPED
    )
    if unknown:
        shown = ", ".join(_shorten(str(k), 40) for k in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        notes.append(f"dropped unknown fields: {shown}{more}")

    if options.symbols is not None:
        # Before in-app rules, the culprit and grouping see the frames, so
        # they all see the original ones.
        options.symbols.apply(out)
    rules = options.stacktrace_rules
    if rules is not None and rules.rules:
        family = platform_family(platform)
        for frames in _all_frame_lists(out):
            rules.apply_in_app(frames, family)

    main = exceptions[-1] if exceptions else None
    type_ = (main or {}).get("type", "")
    value = (main or {}).get("value", "")
    message = (logentry or {}).get("formatted", "")
    title = _title(type_, value, message, main is not None)
    culprit = _culprit(out, main)
    user_key = _user_key(user)
    handled = ((main or {}).get("mechanism") or {}).get("handled")
    if notes:
        out["_notes"] = notes
    return NormalizedEvent(
        data=out,
        notes=notes,
        event_id=out["event_id"],
        timestamp=out["timestamp"],
        received_at=received_at,
        platform=platform,
        level=out["level"],
        title=title,
        culprit=culprit,
        type=type_,
        value=value,
        message=message,
        logger=out.get("logger"),
        transaction=out.get("transaction"),
        release=out.get("release"),
        environment=out.get("environment"),
        server_name=out.get("server_name"),
        user_key=user_key,
        user_ip=user_ip,
        handled=handled,
        tags=_derived_tags(out, main, user_key),
        search_text=_search_text(title, culprit, message, out),
    )
