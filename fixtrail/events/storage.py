"""How a normalized event is stored: zstd-compressed JSON in Event.data.

The stored form is a single zstd frame (with its content size recorded)
of the event serialized by orjson::

    compress_event({"event_id": "9ec7...", "message": "boom"})
    -> b"(\\xb5/\\xfd ..."   # decompress_event() turns it back into the dict

Events of one application repeat most of their keys and much of their text,
so zstd at a low level shrinks a typical 10 KB Python event to a quarter of
its size at a cost of tens of microseconds.
"""

from __future__ import annotations

from typing import Any

import orjson
import zstandard

from fixtrail.lib.zstd import compressor, decompressor

# Level 3 is zstd's default: on this project's benchmark events, levels above
# it cost twice the time for a few percent less space, and digest writes far
# more events than anyone reads.
COMPRESSION_LEVEL = 3

# A decompressed event larger than this is refused rather than built in
# memory: ingest caps events at INGEST_MAX_EVENT_BYTES (1 MiB) and
# normalization only shrinks them, so anything bigger is a damaged row.
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024


class CorruptEventData(ValueError):
    """Stored event bytes that are not a zstd frame of a JSON object."""


def compress_json(raw: bytes) -> bytes:
    """Return ``raw`` (serialized JSON) as one zstd frame."""
    return compressor(COMPRESSION_LEVEL).compress(raw)


def compress_event(data: dict[str, Any]) -> bytes:
    """Serialize ``data`` with orjson and compress it for Event.data.

    Raises orjson.JSONEncodeError (a TypeError) when ``data`` holds
    something JSON cannot represent.
    """
    return compress_json(orjson.dumps(data))


def decompress_event(blob: bytes | memoryview) -> dict[str, Any]:
    """Return the event dict stored in ``blob`` (Event.data).

    PostgreSQL hands binary columns back as memoryview, SQLite as bytes;
    both are accepted. Raises CorruptEventData when the bytes are not a
    compressed JSON object or would decompress past MAX_DECOMPRESSED_BYTES.
    """
    blob = bytes(blob)
    try:
        # The frame's declared size is checked first: decompress() trusts it
        # and would allocate whatever a damaged header claims.
        if zstandard.frame_content_size(blob) > MAX_DECOMPRESSED_BYTES:
            raise CorruptEventData("stored event data is too large")
        raw = decompressor().decompress(blob, max_output_size=MAX_DECOMPRESSED_BYTES)
        data = orjson.loads(raw)
    except (zstandard.ZstdError, orjson.JSONDecodeError) as exc:
        raise CorruptEventData(f"stored event data is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise CorruptEventData("stored event data is not a JSON object")
    return data


def load_event(project_id: int, event_id: str) -> dict[str, Any] | None:
    """Return the stored normalized event ``event_id`` of a project, or None.

    Runs one query (the index on project and event id).
    """
    from fixtrail.events.models import Event

    blob = (
        Event.objects.filter(project_id=project_id, event_id=event_id)
        .values_list("data", flat=True)
        .first()
    )
    return None if blob is None else decompress_event(blob)
