"""Size limits, levels and platforms: the bounds every part of an event is held to."""

from __future__ import annotations

from typing import NamedTuple

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
