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
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson

from fixtrail.digest.fingerprint_rules import StacktraceRules, platform_family
from fixtrail.digest.scrub import (
    FILTERED,
    IP_ADDRESS_ENV_KEYS,
    IP_ADDRESS_HEADERS,
    MIN_CARD_DIGITS,
    Scrubber,
)

# -- limits -------------------------------------------------------------------
# Lengths are in characters (str length), counts in items. Limits without a
# named source are chosen here: above what the SDKs send by default, small
# enough that a hostile event stays bounded.
# Sentry's own tag limits, so tags from Sentry SDKs fit unchanged.
MAX_TAG_KEY_CHARS = 32
MAX_TAG_VALUE_CHARS = 200
MAX_TAGS = 100
# Sentry's historical message limit (8 KiB of text).
MAX_MESSAGE_CHARS = 8192
# The Sentry SDKs' default max_breadcrumbs.
MAX_BREADCRUMBS = 100
# Stack overflows produce thousands of frames; the oldest and newest half of
# this many are kept, the middle is dropped.
MAX_FRAMES_PER_STACKTRACE = 250
# Long cause chains and wide exception groups: the newest ones are kept,
# which always includes the exception that was finally raised.
MAX_EXCEPTIONS = 50
MAX_THREADS = 100
# Frame variables: the Python SDK's own serializer limits are depth 5 and
# 1024 characters per value; breadth is more generous here.
FRAME_VARS_MAX_DEPTH = 5
FRAME_VARS_MAX_ITEMS = 50
FRAME_VAR_MAX_CHARS = 1024
# Per side of the current line; SDKs send 5.
MAX_CONTEXT_LINES = 20
MAX_CONTEXT_LINE_CHARS = 1024
# Names of functions, modules, files, types (C++ symbols run long).
MAX_NAME_CHARS = 1024
# Sentry's limits for these event attributes (loggers excepted: Sentry's
# 64 characters cut .NET logger names, which are full type names).
MAX_RELEASE_CHARS = 200
MAX_ENVIRONMENT_CHARS = 64
MAX_TRANSACTION_CHARS = 200
MAX_LOGGER_CHARS = 256
MAX_DIST_CHARS = 64
MAX_SERVER_NAME_CHARS = 256
MAX_CULPRIT_CHARS = 256
MAX_TITLE_CHARS = 256
MAX_USER_FIELD_CHARS = 256
MAX_URL_CHARS = 8192
MAX_HEADERS = 100
MAX_HEADER_VALUE_CHARS = 8192
MAX_QUERY_PAIRS = 100
MAX_REQUEST_BODY_CHARS = 16384
MAX_MODULES = 1000
MAX_FINGERPRINT_ENTRIES = 50
MAX_FINGERPRINT_ENTRY_CHARS = 512
MAX_KEY_CHARS = 256
MAX_SEARCH_TEXT_CHARS = 4096
# Timestamps outside [received - 30 days, received + 60 s] are not believed;
# these are Relay's bounds for event timestamps.
MAX_TIMESTAMP_PAST_SECONDS = 30 * 24 * 3600
MAX_TIMESTAMP_FUTURE_SECONDS = 60
# Drift below this is network latency rather than a wrong device clock, and
# correcting it would only reorder events that arrived close together.
MIN_CLOCK_DRIFT_SECONDS = 60
# orjson (which stores events) only handles 64-bit integers.
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**64 - 1

ELLIPSIS = "…"
TRIMMED = "[Trimmed]"


class BagLimits(NamedTuple):
    """Bounds for a free-form JSON value.

    ``max_depth`` counts nesting levels below the field itself (deeper
    containers become TRIMMED), ``max_items`` items per object or array,
    ``max_chars`` characters per string.
    """

    max_depth: int
    max_items: int
    max_chars: int


FRAME_VARS_LIMITS = BagLimits(
    FRAME_VARS_MAX_DEPTH, FRAME_VARS_MAX_ITEMS, FRAME_VAR_MAX_CHARS
)
# extra and request bodies.
DATABAG_LIMITS = BagLimits(8, 200, 16384)
CONTEXT_LIMITS = BagLimits(5, 100, 8192)
BREADCRUMB_DATA_LIMITS = BagLimits(4, 50, 4096)
SDK_LIMITS = BagLimits(4, 200, 1024)
# Native crashes list hundreds of loaded images.
DEBUG_META_LIMITS = BagLimits(5, 1000, 1024)
SMALL_LIMITS = BagLimits(3, 50, 1024)

LEVELS = ("fatal", "error", "warning", "info", "debug")
_LEVEL_ALIASES = {
    "fatal": "fatal",
    "critical": "fatal",
    "error": "error",
    "err": "error",
    "exception": "error",
    "warning": "warning",
    "warn": "warning",
    "info": "info",
    "log": "info",
    "notice": "info",
    "debug": "debug",
    "trace": "debug",
    "sample": "info",
}
# Python's logging levels, which some integrations send as numbers.
_NUMERIC_LEVELS = ((50, "fatal"), (40, "error"), (30, "warning"), (20, "info"))
DEFAULT_LEVEL = "error"

KNOWN_PLATFORMS = frozenset(
    {
        "as3",
        "c",
        "cfml",
        "cocoa",
        "csharp",
        "dart",
        "elixir",
        "go",
        "groovy",
        "haskell",
        "java",
        "javascript",
        "native",
        "node",
        "objc",
        "other",
        "perl",
        "php",
        "python",
        "ruby",
        "rust",
    }
)

_HEX = frozenset("0123456789abcdef")

# Top-level keys that Relay or old servers add to stored events, and that
# SDK test fixtures carry; they say nothing about the error and are dropped
# without a note.
_SILENTLY_DROPPED = frozenset(
    {
        "_meta",
        "_metrics",
        "_relay_processed",
        "errors",
        "grouping_config",
        "hashes",
        "ingest_path",
        "key_id",
        "location",
        "main_exception_id",
        "metadata",
        "nodestore_insert",
        "project",
        "received",
        "scraping_attempts",
        "title",
        "version",
        "measurements",
        "spans",
        "start_timestamp",
        "breakdowns",
        "_notes",
    }
)


class InvalidEvent(ValueError):
    """The payload is not an event: its top level is not a JSON object."""


@dataclass(frozen=True)
class NormalizeOptions:
    """Per-project choices that change what normalization keeps.

    ``scrub_data`` filters secrets (see :mod:`fixtrail.digest.scrub`), with
    ``scrub_fields`` as extra sensitive key words; ``scrub_ip_addresses``
    drops the user's IP address wherever it appears; ``stacktrace_rules``
    (parsed) set frames' ``in_app``. Build one per project configuration and
    reuse it across a batch: it holds a :class:`Scrubber`, whose key cache
    warms up over the batch.
    """

    scrub_data: bool = True
    scrub_fields: tuple[str, ...] = ()
    scrub_ip_addresses: bool = False
    stacktrace_rules: StacktraceRules | None = None
    # Uploaded artifacts this batch's events may use (an object with
    # ``apply(data)``: fixtrail.symbols.symbolicate.SymbolLookup).
    symbols: Any = field(default=None, repr=False, compare=False)
    scrubber: Scrubber | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scrubber = Scrubber(self.scrub_fields) if self.scrub_data else None
        object.__setattr__(self, "scrubber", scrubber)


DEFAULT_OPTIONS = NormalizeOptions()


@dataclass(slots=True)
class NormalizedEvent:
    """A normalized event: the clean ``data`` and the fields derived from it.

    ``user_ip`` is the end user's address as sent, kept in memory for the
    inbound filters even when the project drops IP addresses; it is never in
    ``data`` in that case and must not be stored.
    """

    data: dict[str, Any]
    notes: list[str]
    event_id: str
    timestamp: float
    received_at: float
    platform: str
    level: str
    title: str
    culprit: str
    type: str
    value: str
    message: str
    logger: str | None
    transaction: str | None
    release: str | None
    environment: str | None
    server_name: str | None
    user_key: str | None
    user_ip: str | None
    handled: bool | None
    tags: list[tuple[str, str]]
    search_text: str


class _State:
    """What one normalization run carries around: notes and privacy switches."""

    __slots__ = ("notes", "scrubber", "drop_ips")

    def __init__(self, options: NormalizeOptions) -> None:
        self.notes: list[str] = []
        self.scrubber = options.scrubber
        self.drop_ips = options.scrub_ip_addresses


class _Tally:
    """Counts what a walk over one free-form value trimmed or filtered."""

    __slots__ = ("shortened", "dropped", "cut", "filtered", "coerced")

    def __init__(self) -> None:
        self.shortened = self.dropped = self.cut = self.filtered = self.coerced = 0

    def report(self, path: str, limits: BagLimits, state: _State) -> None:
        parts = []
        if self.shortened:
            parts.append(f"{self.shortened} long strings shortened")
        if self.dropped:
            parts.append(f"{self.dropped} items over {limits.max_items} dropped")
        if self.cut:
            parts.append(f"{self.cut} values nested deeper than {limits.max_depth} cut")
        if self.coerced:
            parts.append(f"{self.coerced} values converted")
        if parts:
            state.notes.append(f"{path}: trimmed ({', '.join(parts)})")
        if self.filtered:
            state.notes.append(f"{path}: {self.filtered} values filtered")


# -- scalar helpers -----------------------------------------------------------


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


# -- top-level scalars --------------------------------------------------------


def _clean_event_id(value: Any) -> str | None:
    if type(value) is not str:
        return None
    value = value.strip().lower().replace("-", "")
    if len(value) == 32 and not set(value) - _HEX:
        return value
    return None


def _event_id(value: Any, fallback: str | None, state: _State) -> str:
    # The caller's id (ingest's queue header) is authoritative: it is the id
    # the SDK was answered with, made up by ingest when the payload had none.
    if fallback is not None:
        clean = _clean_event_id(fallback)
        if clean is not None:
            return clean
    clean = _clean_event_id(value)
    if clean is not None:
        return clean
    if value is not None:
        state.notes.append("event_id: not 32 hexadecimal characters; dropped")
    return ""


def _platform(value: Any, state: _State) -> str:
    if type(value) is str:
        folded = value.strip().lower()
        if folded in KNOWN_PLATFORMS:
            return folded
        state.notes.append(
            f"platform: unknown platform {_shorten(value, 64)!r}; used 'other'"
        )
    elif value is not None:
        state.notes.append(f"platform: expected a string, got {_json_type(value)}")
    return "other"


def _level(value: Any, state: _State) -> str:
    kind = type(value)
    if kind is str:
        level = _LEVEL_ALIASES.get(value.strip().lower())
        if level is not None:
            return level
    elif (kind is int or kind is float) and math.isfinite(value):
        for threshold, name in _NUMERIC_LEVELS:
            if value >= threshold:
                return name
        return "debug"
    if value is not None:
        state.notes.append(
            f"level: unknown level {_shorten(str(value), 64)!r}; used 'error'"
        )
    return DEFAULT_LEVEL


def parse_timestamp(value: Any) -> float | None:
    """Return epoch seconds from an epoch number or an ISO 8601 string.

    Strings without a time zone are taken as UTC. Returns None for anything
    unreadable or not finite.
    """
    kind = type(value)
    if kind is int or kind is float:
        seconds = float(value)
    elif kind is str:
        text = value.strip()
        if not text or len(text) > 64:
            return None
        try:
            seconds = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            try:
                seconds = moment.timestamp()
            except (OverflowError, ValueError, OSError):
                return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def _timestamp(
    value: Any, received_at: float, clock_drift: float, state: _State
) -> float:
    seconds = parse_timestamp(value)
    if seconds is None:
        if value is not None:
            state.notes.append("timestamp: unreadable; used the time received")
        return received_at
    if math.isfinite(clock_drift) and abs(clock_drift) >= MIN_CLOCK_DRIFT_SECONDS:
        seconds += clock_drift
        state.notes.append(
            f"timestamp: corrected by {clock_drift:.0f} s of clock drift"
        )
    if (
        seconds > received_at + MAX_TIMESTAMP_FUTURE_SECONDS
        or seconds < received_at - MAX_TIMESTAMP_PAST_SECONDS
    ):
        state.notes.append(
            "timestamp: too far from the time received; used that instead"
        )
        return received_at
    return seconds


# -- message ------------------------------------------------------------------

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


# -- stack traces -------------------------------------------------------------

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


# -- breadcrumbs, tags, user, request -----------------------------------------

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


_USER_TEXT = ("id", "email", "username", "ip_address", "name", "segment")


def _clean_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _user(
    value: Any, client_ip: str | None, infer_ip: bool, state: _State
) -> tuple[dict[str, Any] | None, str | None]:
    """Return the clean user and the user's IP address (even if not stored)."""
    if value is not None and type(value) is not dict:
        state.notes.append(
            f"user: expected an object, got {_json_type(value)}; dropped"
        )
        value = None
    value = value or {}
    out: dict[str, Any] = {}
    for key in _USER_TEXT:
        text = _text(value.get(key), MAX_USER_FIELD_CHARS, f"user.{key}", state)
        if text is not None and text.strip():
            out[key] = text.strip()
    ip = out.pop("ip_address", None)
    if ip == "{{auto}}" or (ip is None and infer_ip):
        ip = client_ip
    if ip is not None:
        clean = _clean_ip(ip)
        if clean is None:
            state.notes.append("user.ip_address: not an IP address; dropped")
        ip = clean
    if ip is not None and not state.drop_ips:
        out["ip_address"] = ip
    scrubber = state.scrubber
    geo = _object_bag(value.get("geo"), "user.geo", SMALL_LIMITS, None, state)
    if geo and not state.drop_ips:
        out["geo"] = geo
    data = value.get("data")
    extra = {
        k: v
        for k, v in value.items()
        if k not in _USER_TEXT and k not in ("geo", "data")
    }
    if extra:
        data = {**data, **extra} if type(data) is dict else extra
    data = _object_bag(data, "user.data", SMALL_LIMITS, scrubber, state)
    if data:
        out["data"] = data
    return out or None, ip


def _pairs_from(value: Any, path: str, state: _State) -> list[tuple[str, Any]]:
    if type(value) is dict:
        return [(k, v) for k, v in value.items()]
    if type(value) is list:
        pairs = []
        for item in value:
            if type(item) in (list, tuple) and len(item) == 2 and type(item[0]) is str:
                pairs.append((item[0], item[1]))
            else:
                state.notes.append(
                    f"{path}: dropped an item that was not a [name, value] pair"
                )
        return pairs
    if value is not None:
        state.notes.append(
            f"{path}: expected an object or array, got {_json_type(value)}"
        )
    return []


def _clean_pairs(
    pairs: list[tuple[str, Any]],
    path: str,
    limit: int,
    value_chars: int,
    state: _State,
    drop_names: frozenset[str] = frozenset(),
) -> list[list[str]]:
    """Return ``[[name, value], ...]`` bounded, scrubbed and with text values.

    A value that is a list (``{"Accept": ["a", "b"]}``) gives one pair per
    item.
    """
    scrubber = state.scrubber
    out: list[list[str]] = []
    filtered = dropped = 0
    for name, value in pairs:
        if type(name) is not str or not name:
            continue
        if drop_names and name.lower() in drop_names:
            dropped += 1
            continue
        values = value if type(value) is list else [value]
        for item in values:
            if item is None:
                continue
            text = item if type(item) is str else _param_text(item)
            text = _shorten(text, value_chars)
            if scrubber is not None:
                if scrubber.is_sensitive_key(name):
                    if text:
                        filtered += 1
                        text = FILTERED
                else:
                    text = scrubber.scrub_text(text)
            out.append([_shorten(name, MAX_KEY_CHARS), text])
    if len(out) > limit:
        state.notes.append(f"{path}: kept the first {limit} of {len(out)} items")
        out = out[:limit]
    if filtered:
        state.notes.append(f"{path}: {filtered} values filtered")
    if dropped:
        state.notes.append(f"{path}: {dropped} IP address headers dropped")
    return out


def _query_pairs(value: Any, path: str, state: _State) -> list[tuple[str, Any]]:
    if type(value) is str:
        text = value[1:] if value.startswith("?") else value
        return parse_qsl(text[:MAX_URL_CHARS], keep_blank_values=True)[
            : MAX_QUERY_PAIRS + 1
        ]
    return _pairs_from(value, path, state)


def _cookie_pairs(value: Any, state: _State) -> list[tuple[str, Any]]:
    if type(value) is str:
        pairs = []
        for part in value.split(";"):
            name, _, cookie = part.strip().partition("=")
            if name:
                pairs.append((name, cookie))
        return pairs
    return _pairs_from(value, "request.cookies", state)


def _request(value: Any, state: _State) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"request: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    out: dict[str, Any] = {}
    scrubber = state.scrubber
    query = value.get("query_string")
    url = _text(value.get("url"), MAX_URL_CHARS, "request.url", state)
    if url:
        url, _, fragment = url.partition("#")
        url, has_query, url_query = url.partition("?")
        if has_query and not query:
            query = url_query
        if fragment and not value.get("fragment"):
            out["fragment"] = fragment
        out["url"] = url
    method = _text(value.get("method"), 32, "request.method", state)
    if method:
        out["method"] = method.upper()
    if query:
        pairs = _clean_pairs(
            _query_pairs(query, "request.query_string", state),
            "request.query_string",
            MAX_QUERY_PAIRS,
            MAX_URL_CHARS,
            state,
        )
        if pairs:
            out["query_string"] = pairs
    headers = _clean_pairs(
        _pairs_from(value.get("headers"), "request.headers", state),
        "request.headers",
        MAX_HEADERS,
        MAX_HEADER_VALUE_CHARS,
        state,
        IP_ADDRESS_HEADERS if state.drop_ips else frozenset(),
    )
    if headers:
        out["headers"] = headers
    cookies = value.get("cookies")
    if cookies:
        if scrubber is not None and scrubber.is_sensitive_key("cookies"):
            out["cookies"] = FILTERED
            state.notes.append("request.cookies: filtered")
        else:
            pairs = _clean_pairs(
                _cookie_pairs(cookies, state),
                "request.cookies",
                MAX_HEADERS,
                MAX_HEADER_VALUE_CHARS,
                state,
            )
            if pairs:
                out["cookies"] = pairs
    data = value.get("data")
    if data is not None and data != "":
        limits = DATABAG_LIMITS._replace(max_chars=MAX_REQUEST_BODY_CHARS)
        out["data"] = _any_bag(data, "request.data", limits, scrubber, state)
    env = _object_bag(value.get("env"), "request.env", SMALL_LIMITS, scrubber, state)
    if env and state.drop_ips:
        env = {k: v for k, v in env.items() if k not in IP_ADDRESS_ENV_KEYS} or None
    if env:
        out["env"] = env
    for key in ("fragment", "inferred_content_type"):
        text = _text(value.get(key), MAX_URL_CHARS, f"request.{key}", state)
        if text:
            out[key] = text
    return out or None


# -- the remaining free-form fields -------------------------------------------


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


# -- derived fields -----------------------------------------------------------


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line


def _top_frame(frames: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the innermost in-app frame, else the innermost frame."""
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            return frame
    return frames[-1] if frames else None


def frame_label(frame: dict[str, Any]) -> str:
    """Return ``"module in function"`` (or what of it the frame has)."""
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or ""
    function = frame.get("function") or ""
    if where and function:
        return f"{where} in {function}"
    return where or function


def _main_frames(
    data: dict[str, Any], main: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if main is not None and "stacktrace" in main:
        return main["stacktrace"]["frames"]
    if "stacktrace" in data:
        return data["stacktrace"]["frames"]
    for thread in data.get("threads", {}).get("values", ()):
        if thread.get("crashed") and "stacktrace" in thread:
            return thread["stacktrace"]["frames"]
    return []


def _culprit(data: dict[str, Any], main: dict[str, Any] | None) -> str:
    transaction = data.get("transaction")
    if transaction:
        return _shorten(transaction, MAX_CULPRIT_CHARS)
    frame = _top_frame(_main_frames(data, main))
    if frame is not None:
        label = frame_label(frame)
        if label:
            return _shorten(label, MAX_CULPRIT_CHARS)
    return data.get("culprit", "")


def _title(type_: str, value: str, message: str, has_exception: bool) -> str:
    if has_exception:
        line = _first_line(value)
        if type_ and line:
            title = f"{type_}: {line}"
        else:
            title = type_ or line or "<unknown error>"
    elif message:
        title = _first_line(message) or "<unlabeled event>"
    else:
        title = "<unlabeled event>"
    return _shorten(title, MAX_TITLE_CHARS)


def _user_key(user: dict[str, Any] | None) -> str | None:
    if not user:
        return None
    for key, prefix in (("id", "id"), ("email", "email"), ("username", "username")):
        if key in user:
            return f"{prefix}:{user[key]}"
    if "ip_address" in user:
        return f"ip:{user['ip_address']}"
    return None


def _context_label(
    contexts: dict[str, Any], name: str
) -> tuple[str | None, str | None]:
    context = contexts.get(name)
    if type(context) is not dict:
        return None, None
    label = context.get("name")
    if type(label) is not str or not label:
        return None, None
    version = context.get("version")
    if type(version) is str and version:
        return label, f"{label} {version}"
    return label, label


def _derived_tags(
    data: dict[str, Any], main: dict[str, Any] | None, user_key: str | None
) -> list[tuple[str, str]]:
    tags = [(pair[0], pair[1]) for pair in data.get("tags", ())]
    present = {key for key, _ in tags}
    derived: list[tuple[str, str]] = [("level", data["level"])]
    for name in (
        "environment",
        "release",
        "dist",
        "server_name",
        "transaction",
        "logger",
    ):
        if name in data:
            derived.append((name, data[name]))
    mechanism = (main or {}).get("mechanism") or {}
    if "handled" in mechanism:
        derived.append(("handled", "yes" if mechanism["handled"] else "no"))
    if "type" in mechanism:
        derived.append(("mechanism", mechanism["type"]))
    url = data.get("request", {}).get("url")
    if url:
        derived.append(("url", url))
    contexts = data.get("contexts", {})
    for name in ("browser", "os", "runtime"):
        short, full = _context_label(contexts, name)
        if full:
            derived.append((name, full))
            derived.append((f"{name}.name", short))
    device = contexts.get("device")
    if type(device) is dict:
        model = device.get("model") or device.get("family")
        if type(model) is str and model:
            derived.append(("device", model))
    if user_key:
        derived.append(("user", user_key))
    for key, value in derived:
        if key not in present and type(value) is str and value:
            tags.append((key, _shorten(value, MAX_TAG_VALUE_CHARS)))
    return tags


def _search_text(title: str, culprit: str, message: str, data: dict[str, Any]) -> str:
    parts = [title, culprit]
    if message and message != title:
        parts.append(message)
    for exc in data.get("exception", {}).get("values", ()):
        parts.append(f"{exc.get('type', '')}: {exc.get('value', '')}")
    if "transaction" in data:
        parts.append(data["transaction"])
    return _shorten("\n".join(p for p in parts if p), MAX_SEARCH_TEXT_CHARS)


def _remote_addr(request: Any) -> str | None:
    """Return the REMOTE_ADDR the SDK copied from the server's environment."""
    env = request.get("env") if type(request) is dict else None
    remote = env.get("REMOTE_ADDR") if type(env) is dict else None
    return _clean_ip(remote) if type(remote) is str else None


def _infer_ip(sdk: dict[str, Any] | None) -> bool:
    settings = (sdk or {}).get("settings")
    return type(settings) is dict and settings.get("infer_ip") == "auto"


# -- entry point --------------------------------------------------------------


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
