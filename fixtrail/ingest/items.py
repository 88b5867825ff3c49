"""The queue message format shared by ingest (writer) and digest (reader).

A message is one line of JSON header, a newline, then the payload bytes
exactly as the SDK sent them (decompressed, never re-serialized)::

    {"type":"event","project_id":1,"event_id":"9ec79c33ec9942ab8353589fcb2e04dc",
     "received_at":1714557600.25,"clock_drift":-1.5,"client_ip":"203.0.113.7",
     "key_id":3}
    {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","message":"hello",...}

(the header is a single line; it is wrapped above for reading).

A payload of COMPRESS_FROM_BYTES or more is stored as one zstd frame
(level 1), and its header says ``"encoding": "zstd"``; readers get the
payload through ``item_payload``, which undoes it. A 10 KB event shrinks to
about a third: fewer pages for the SQLite queue to write per request, a
third of the memory in Redis, and less to hand to digest's helper process.

Header keys, by ``type``:

- every event-like type (``event``, ``attachment``, ``user_report``,
  ``feedback``): ``project_id`` (int), ``event_id`` (32 lowercase hex; it is
  authoritative: when the SDK sent none, ingest made one up and the payload
  does not contain it), ``received_at`` (float epoch seconds, server clock),
  ``clock_drift`` (float seconds, ``received_at`` minus the envelope's
  ``sent_at``; 0.0 when unknown, so digest subtracts nothing), ``client_ip``
  (str or null) and ``key_id`` (int).
- ``event``: the payload is the event JSON. Events from ``/security/`` are
  built by ingest from the browser's CSP report.
- ``attachment``: additionally ``filename``, ``content_type``,
  ``attachment_type`` and ``path``, the blob's key below ``attachments/``
  in the blob store (fixtrail.storage; already stored by ingest); the
  payload is empty. ``event_id`` is the event the attachment belongs to.
- ``user_report``: the payload is the legacy user-report JSON
  (``event_id``, ``name``, ``email``, ``comments``); ``event_id`` in the header
  is the event the report is about.
- ``feedback``: the payload is the feedback event JSON; ``event_id`` is the
  feedback's own id, and the event it is about, if any, is in the payload at
  ``contexts.feedback.associated_event_id``.
- ``forward``: the envelope as received (decompressed), to send on to the
  project's "also forward to" DSN; ``/store/`` events arrive wrapped in a
  one-item envelope. The header has ``project_id``, ``event_id`` (or null)
  and ``received_at``, and ``skipped: "too_large"`` with an empty payload
  when the envelope was over FIXTRAIL_FORWARD_MAX_BYTES.
- ``stats``: counters accumulated by one ingest process over a few seconds.
  The header has only ``type`` and ``received_at`` (the flush time). The
  payload is JSON::

      {"interval_start": 1714557600.0, "interval_end": 1714557605.0,
       "outcomes": [{"project_id": 1, "category": "error",
                     "outcome": "accepted", "reason": null, "quantity": 3}],
       "sessions": [{"project_id": 1, "release": "app@1.0",
                     "environment": "production", "status": "crashed",
                     "quantity": 2}]}

  ``category`` is one of CATEGORIES, ``outcome`` one of OUTCOMES, ``reason``
  a short ``[a-z0-9_]`` string or null; session ``status`` is one of
  SESSION_STATUSES, and ``environment`` may be null. Counts for the same key
  may appear in several stats messages (one per process and interval) and
  are meant to be added up; a redelivered stats message is counted again,
  which digest may accept as at-least-once noise or avoid by tracking
  message ids.
"""

from __future__ import annotations

from typing import Any

import orjson
import zstandard

from fixtrail.lib.zstd import compressor, decompressor

EVENT = "event"
ATTACHMENT = "attachment"
USER_REPORT = "user_report"
FEEDBACK = "feedback"
STATS = "stats"
FORWARD = "forward"

# What an ingested item counts as in a project's stats. Close to Sentry's
# data categories so client reports' categories map onto them directly;
# anything unrecognised is counted as "unknown" rather than growing the set.
CATEGORIES = frozenset(
    {
        "error",
        "security",
        "attachment",
        "user_report",
        "feedback",
        "transaction",
        "span",
        "session",
        "client_report",
        "monitor",
        "profile",
        "replay",
        "log_item",
        "unknown",
    }
)

# accepted: queued for digest, or counted and answered 200 (transactions...)
# filtered: dropped by a project's inbound filters (digest)
# rate_limited: refused with 429 by a rate limit or quota
# client_discarded: dropped by the SDK itself, as its client reports say
# too_large: refused with 413
# invalid: refused with 400, or an item that could not be read
OUTCOMES = frozenset(
    {"accepted", "filtered", "rate_limited", "client_discarded", "too_large", "invalid"}
)

# started is counted from a session's first update (init: true) and from
# every pre-aggregated bucket; the others from final states.
SESSION_STATUSES = frozenset({"started", "exited", "errored", "crashed", "abnormal"})


# Payloads from this size up are compressed in the queue; below it zstd's
# frame and the call cost more than they save.
COMPRESS_FROM_BYTES = 2048
# Level 1: compression costs ingest about as much as writing the pages it
# saves; higher levels shrink a little more for twice the time.
COMPRESSION_LEVEL = 1
ZSTD = "zstd"
# No payload ingest accepts decompresses past this (its largest, an
# envelope to forward, is bounded far below); a bigger claim is damage.
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024


class MalformedItem(ValueError):
    """A queue message that is not ``<JSON object header>\\n<payload>``."""


def encode_item(header: dict[str, Any], payload: bytes) -> bytes:
    """Return the queue message for ``header`` and ``payload``.

    The header must be JSON-serializable; orjson's compact output never
    contains a newline, so the first ``\\n`` always ends the header. A
    payload of COMPRESS_FROM_BYTES or more is compressed (see above).
    """
    if len(payload) >= COMPRESS_FROM_BYTES:
        header = {**header, "encoding": ZSTD}
        payload = compressor(COMPRESSION_LEVEL).compress(payload)
    return orjson.dumps(header) + b"\n" + payload


def item_payload(header: dict[str, Any], payload: bytes) -> bytes:
    """Return the payload as it was given to ``encode_item``.

    Raises MalformedItem when a compressed payload is damaged or claims
    more than MAX_PAYLOAD_BYTES.
    """
    if header.get("encoding") != ZSTD:
        return payload
    try:
        if zstandard.frame_content_size(payload) > MAX_PAYLOAD_BYTES:
            raise MalformedItem("queue message payload is too large")
        return decompressor().decompress(payload, max_output_size=MAX_PAYLOAD_BYTES)
    except zstandard.ZstdError as exc:
        raise MalformedItem(f"queue message payload is damaged: {exc}") from None


def decode_item(body: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a queue message into its header dict and payload bytes (still
    compressed if it was: see ``item_payload``).

    Raises MalformedItem when there is no header line or it is not a JSON
    object with a string ``type``.
    """
    newline = body.find(b"\n")
    if newline == -1:
        raise MalformedItem("queue message has no header line")
    try:
        header = orjson.loads(body[:newline])
    except orjson.JSONDecodeError:
        raise MalformedItem("queue message header is not valid JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise MalformedItem("queue message header is not an object with a type")
    return header, body[newline + 1 :]
