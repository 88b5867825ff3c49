"""Stored event data: zstd-compressed JSON."""

from __future__ import annotations

import orjson
import pytest
import zstandard

from fixtrail.events.storage import (
    MAX_DECOMPRESSED_BYTES,
    CorruptEventData,
    compress_event,
    decompress_event,
    load_event,
)
from tests.digest.queueing import digest_queued, python_error, queue_payloads

EVENT = {"event_id": "a" * 32, "message": "héllo", "extra": {"n": [1, 2.5, None]}}


def test_it_round_trips_an_event():
    assert decompress_event(compress_event(EVENT)) == EVENT


def test_it_reads_the_memoryview_postgresql_returns():
    assert decompress_event(memoryview(compress_event(EVENT))) == EVENT


def test_it_compresses_repetitive_events_well():
    event = {"frames": [{"function": "handle", "module": "app.views"}] * 100}

    assert len(compress_event(event)) < len(orjson.dumps(event)) / 10


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"not zstd", "stored event data is unreadable"),
        (zstandard.ZstdCompressor().compress(b"[1, 2]"), "is not a JSON object"),
        (zstandard.ZstdCompressor().compress(b"{broken"), "is unreadable"),
    ],
)
def test_it_refuses_damaged_data(blob, message):
    with pytest.raises(CorruptEventData, match=message):
        decompress_event(blob)


def test_it_refuses_a_frame_that_claims_to_be_huge():
    blob = zstandard.ZstdCompressor().compress(b" " * (MAX_DECOMPRESSED_BYTES + 1))

    with pytest.raises(CorruptEventData, match="stored event data is too large"):
        decompress_event(blob)


def test_it_loads_a_stored_event_by_id(project, settings):
    [event_id] = queue_payloads(project, [python_error(release="1.0")])
    digest_queued()

    data = load_event(project.pk, event_id)

    assert data["event_id"] == event_id
    assert data["release"] == "1.0"
    assert load_event(project.pk, "0" * 32) is None
