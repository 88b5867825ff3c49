"""Parse Sentry envelopes, the multi-item format SDKs post to ``/envelope/``.

An envelope is one line of JSON headers, then items. Each item is one line of
JSON headers followed by its payload::

    {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2024-05-01T10:00:00Z"}
    {"type":"event","length":35}
    {"message":"hello","level":"error"}
    {"type":"attachment","length":13,"filename":"log.txt"}
    line 1
    line 2
    {"type":"session"}
    {"sid":"4c79f60c11214eb38604f4ae0781bfb2","status":"exited"}

With a ``length`` the payload is exactly that many bytes (the attachment
above holds a newline: inside a measured payload it belongs to the payload),
followed by a newline or the end of the body. Without ``length`` the payload
runs to the next ``\\n`` or to the end, and a ``\\r`` before that newline is
part of the payload. The final newline is optional, an envelope may have no
items at all, and item types this module does not know are kept so the caller
can count them.

Format reference, pinned:
https://github.com/getsentry/sentry-docs/blob/c6d0a87a79b457d24947a50e90d8c98040755a51/develop-docs/sdk/data-model/envelopes.mdx

Everything here is pure: bytes in, :class:`Envelope` out or
:class:`~fixtrail.ingest.exceptions.BadRequest` raised with a readable message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from fixtrail.ingest.exceptions import BadRequest

# A header line is a small JSON object (type, length, filename...); 64 KiB is
# far above anything an SDK writes and keeps a hostile "header" from making
# orjson build a huge object before the item limits apply.
MAX_HEADER_LINE_BYTES = 64 * 1024

# Real envelopes carry one event plus a handful of attachments, or up to 100
# session updates (the SDK-side batch limit); 1000 leaves room for batching
# clients while bounding the per-request loop.
MAX_ITEMS = 1000

_HEX_ID = re.compile(r"[0-9a-fA-F]{32}")
_DASHED_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True, slots=True)
class Item:
    """One envelope item: its parsed header object and its raw payload bytes."""

    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        """Return the item type (``event``, ``attachment``, ...)."""
        return self.headers["type"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed envelope.

    ``event_id`` is normalized to 32 lowercase hex characters (or None),
    ``sent_at`` is epoch seconds (or None when absent or unreadable), and
    ``dsn`` is the DSN string the SDK put in the header (or None).
    """

    headers: dict[str, Any]
    items: list[Item]
    event_id: str | None
    sent_at: float | None
    dsn: str | None


def normalize_event_id(value: object, what: str = "event_id") -> str | None:
    """Return ``value`` as 32 lowercase hex characters, or None when it is None.

    Both UUID spellings the protocol allows are accepted: 32 hex digits, or
    36 characters with dashes. Anything else raises BadRequest naming ``what``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 32 and _HEX_ID.fullmatch(value):
            return value.lower()
        if len(value) == 36 and _DASHED_ID.fullmatch(value):
            return value.replace("-", "").lower()
    raise BadRequest(f"{what} must be a UUID, got {_preview(value)}")


def parse_sent_at(value: object) -> float | None:
    """Return an RFC 3339 timestamp (or epoch number) as epoch seconds.

    Returns None for anything unreadable: ``sent_at`` only corrects clock
    drift, so a bad value must not cost the SDK its event.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        # NaN and infinities would poison every later subtraction.
        return seconds if seconds == seconds and abs(seconds) < 1e11 else None
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_envelope(data: bytes, max_items: int = MAX_ITEMS) -> Envelope:
    """Split an envelope body into its header and items.

    Raises BadRequest when the body is empty, a header line is not a JSON
    object (or is longer than MAX_HEADER_LINE_BYTES), an item has no string
    ``type``, a ``length`` is not a non-negative integer or runs past the end,
    a measured payload is not followed by a newline, an item's ``event_id``
    contradicts the envelope's, or there are more than ``max_items`` items.
    """
    if not data:
        raise BadRequest("empty envelope: expected a header line")
    headers, pos = _read_header_line(data, 0, "envelope header")
    event_id = normalize_event_id(headers.get("event_id"), "envelope event_id")
    dsn = headers.get("dsn")
    if dsn is not None and not isinstance(dsn, str):
        raise BadRequest("envelope dsn must be a string")
    items: list[Item] = []
    end = len(data)
    while pos < end:
        if data[pos] == 0x0A:
            # Blank lines between items carry nothing; tolerating them costs
            # nothing and some hand-written clients emit them.
            pos += 1
            continue
        if len(items) >= max_items:
            raise BadRequest(f"envelope has more than {max_items} items")
        item_headers, pos = _read_header_line(data, pos, f"item {len(items)} header")
        _check_item_headers(item_headers, len(items), event_id)
        payload, pos = _read_payload(data, pos, item_headers, len(items))
        items.append(Item(item_headers, payload))
    return Envelope(
        headers, items, event_id, parse_sent_at(headers.get("sent_at")), dsn
    )


def envelope_for_event(event_id: str | None, event: bytes) -> bytes:
    """Wrap an event sent to /store/ as the one-item envelope that carries
    the same event."""
    header = f'{{"event_id":"{event_id}"}}' if event_id else "{}"
    item = f'{{"type":"event","length":{len(event)}}}'
    return f"{header}\n{item}\n".encode() + event + b"\n"


def _read_header_line(data: bytes, pos: int, what: str) -> tuple[dict[str, Any], int]:
    limit = pos + MAX_HEADER_LINE_BYTES + 1
    newline = data.find(b"\n", pos, limit)
    if newline == -1:
        if len(data) > limit:
            raise BadRequest(f"{what} is longer than {MAX_HEADER_LINE_BYTES} bytes")
        newline = len(data)
    try:
        headers = orjson.loads(data[pos:newline])
    except orjson.JSONDecodeError:
        raise BadRequest(f"{what} is not valid JSON") from None
    if not isinstance(headers, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return headers, newline + 1


def _check_item_headers(
    headers: dict[str, Any], index: int, event_id: str | None
) -> None:
    if not isinstance(headers.get("type"), str) or not headers["type"]:
        raise BadRequest(f"item {index} has no type")
    item_event_id = normalize_event_id(
        headers.get("event_id"), f"item {index} event_id"
    )
    if event_id is not None and item_event_id is not None and item_event_id != event_id:
        raise BadRequest(
            f"item {index} event_id {item_event_id} does not match "
            f"the envelope event_id {event_id}"
        )


def _read_payload(
    data: bytes, pos: int, headers: dict[str, Any], index: int
) -> tuple[bytes, int]:
    length = headers.get("length")
    end = len(data)
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length < 0
    ):
        raise BadRequest(f"item {index} length must be a non-negative integer")
    if pos >= end:
        # The header line ended the body: only an empty payload fits.
        if length:
            raise BadRequest(f"item {index} is truncated: {length} bytes announced")
        return b"", end
    if length is None:
        newline = data.find(b"\n", pos)
        if newline == -1:
            return data[pos:], end
        return data[pos:newline], newline + 1
    stop = pos + length
    if stop > end:
        raise BadRequest(
            f"item {index} is truncated: {length} bytes announced, {end - pos} present"
        )
    if stop < end:
        if data[stop] != 0x0A:
            raise BadRequest(f"item {index} payload is not followed by a newline")
        return data[pos:stop], stop + 1
    return data[pos:stop], stop


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
