"""Read what SDKs report about themselves: sessions and client reports.

Neither is stored item by item; both become counters in the stats messages
(see fixtrail.ingest.items). An individual session update looks like::

    {"sid":"...","init":true,"status":"ok","errors":0,
     "attrs":{"release":"app@1.0","environment":"production"}}

and a pre-aggregated ``sessions`` item (server-mode SDKs) like::

    {"attrs":{"release":"app@1.0","environment":"production"},
     "aggregates":[{"started":"2024-05-01T10:00:00Z","exited":41,"errored":2}]}

A client report lists what the SDK dropped before sending::

    {"timestamp":"...","discarded_events":[
        {"reason":"queue_overflow","category":"error","quantity":23}]}

Payload references, pinned:
https://github.com/getsentry/sentry-docs/blob/a5a287ae418ea59165ff3da20d50fa7f2159b7cc/develop-docs/sdk/telemetry/sessions/index.mdx
https://github.com/getsentry/sentry-docs/blob/39a3623d7b01b1b74dfd3e93ec079224a2b80f1f/develop-docs/sdk/telemetry/client-reports.mdx

Everything here is pure; a payload that cannot be read raises ValueError
and the caller counts the item as invalid.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# Sentry caps releases at 200 characters and environments at 64; longer
# values are not from a real SDK and would only bloat the counters.
MAX_RELEASE_LENGTH = 200
MAX_ENVIRONMENT_LENGTH = 64

# The protocol allows 100 buckets per "sessions" item and SDKs send one
# report entry per (reason, category): 100 bounds both loops.
MAX_AGGREGATES = 100
MAX_REPORT_ENTRIES = 100

# No real counter comes near a billion per report; the cap keeps one
# hostile report from overflowing a 64-bit sum downstream.
MAX_QUANTITY = 1_000_000_000

MAX_REASON_LENGTH = 64
_REASON = re.compile(r"[a-z0-9_]+")

# Envelope item type -> stats category (see items.CATEGORIES).
_ITEM_CATEGORIES = {
    "event": "error",
    "security": "security",
    "attachment": "attachment",
    "user_report": "user_report",
    "feedback": "feedback",
    "transaction": "transaction",
    "span": "span",
    "otel_span": "span",
    "session": "session",
    "sessions": "session",
    "client_report": "client_report",
    "check_in": "monitor",
    "profile": "profile",
    "profile_chunk": "profile",
    "replay_event": "replay",
    "replay_recording": "replay",
    "replay_video": "replay",
    "log": "log_item",
    "otel_log": "log_item",
}

# Client-report data category -> stats category.
_DATA_CATEGORIES = {
    "error": "error",
    "default": "error",
    "security": "security",
    "attachment": "attachment",
    "user_report_v2": "feedback",
    "feedback": "feedback",
    "transaction": "transaction",
    "transaction_indexed": "transaction",
    "span": "span",
    "span_indexed": "span",
    "session": "session",
    "monitor": "monitor",
    "profile": "profile",
    "profile_chunk": "profile",
    "profile_indexed": "profile",
    "replay": "replay",
    "log_item": "log_item",
}

# Final states of an individual session; "ok" is an update in progress.
_FINAL_STATUSES = ("exited", "errored", "crashed", "abnormal")

# Client report lists other than discarded_events, sent by older SDKs.
_REPORT_LISTS = {
    "discarded_events": None,
    "rate_limited_events": "ratelimit_backoff",
    "filtered_events": "event_processor",
    "filtered_sampling_events": "sample_rate",
}

SessionCount = tuple[str, str | None, str, int]


def category_for_item(item_type: str) -> str:
    """Return the stats category an envelope item type counts under."""
    return _ITEM_CATEGORIES.get(item_type, "unknown")


def clean_reason(value: object) -> str:
    """Return a client-supplied reason as a short ``[a-z0-9_]`` word, or
    ``other`` when it is not one."""
    if isinstance(value, str):
        value = value.lower()[:MAX_REASON_LENGTH]
        if _REASON.fullmatch(value):
            return value
    return "other"


def session_counts(item_type: str, payload: bytes) -> list[SessionCount]:
    """Return ``(release, environment, status, quantity)`` counts for a
    ``session`` or ``sessions`` item.

    A session's first update counts as ``started`` and its final state
    (exited, errored, crashed, abnormal) under that status, so a session
    sent three times is still one session. Each aggregate bucket counts its
    states and their sum as ``started``. Raises ValueError for a payload
    without a release or with malformed counts.
    """
    data = _load_object(payload)
    release, environment = _release_and_environment(data.get("attrs"))
    counts: list[SessionCount] = []
    if item_type == "session":
        if data.get("init") is True:
            counts.append((release, environment, "started", 1))
        status = data.get("status")
        if status in _FINAL_STATUSES:
            counts.append((release, environment, status, 1))
        return counts
    aggregates = data.get("aggregates")
    if not isinstance(aggregates, list) or len(aggregates) > MAX_AGGREGATES:
        raise ValueError(f"sessions must hold at most {MAX_AGGREGATES} aggregates")
    totals = dict.fromkeys(("started", *_FINAL_STATUSES), 0)
    for bucket in aggregates:
        if not isinstance(bucket, dict):
            raise ValueError("a session aggregate is not an object")
        for status in _FINAL_STATUSES:
            quantity = _quantity(bucket.get(status, 0))
            totals[status] += quantity
            totals["started"] += quantity
    return [
        (release, environment, status, quantity)
        for status, quantity in totals.items()
        if quantity
    ]


def client_report_outcomes(payload: bytes) -> list[tuple[str, str, int]]:
    """Return ``(category, reason, quantity)`` for each entry of a client report.

    Raises ValueError for a payload that is not a report.
    """
    data = _load_object(payload)
    outcomes: list[tuple[str, str, int]] = []
    for field, default_reason in _REPORT_LISTS.items():
        entries = data.get(field)
        if entries is None:
            continue
        if not isinstance(entries, list) or len(entries) > MAX_REPORT_ENTRIES:
            raise ValueError(f"{field} must be a list of at most {MAX_REPORT_ENTRIES}")
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError(f"an entry of {field} is not an object")
            category = _DATA_CATEGORIES.get(entry.get("category"), "unknown")
            reason = clean_reason(entry.get("reason", default_reason))
            quantity = _quantity(entry.get("quantity", 1))
            if quantity:
                outcomes.append((category, reason, quantity))
    return outcomes


def _load_object(payload: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise ValueError("payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("payload is not a JSON object")
    return data


def _release_and_environment(attrs: object) -> tuple[str, str | None]:
    if not isinstance(attrs, dict):
        raise ValueError("session has no attrs")
    release = attrs.get("release")
    if not isinstance(release, str) or not release or len(release) > MAX_RELEASE_LENGTH:
        raise ValueError("session has no valid release")
    environment = attrs.get("environment")
    if environment is not None and (
        not isinstance(environment, str) or len(environment) > MAX_ENVIRONMENT_LENGTH
    ):
        raise ValueError("session environment is not a short string")
    return release, environment or None


def _quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a count is not an integer")
    if not 0 <= value <= MAX_QUANTITY:
        raise ValueError(f"a count is outside 0..{MAX_QUANTITY}")
    return value
