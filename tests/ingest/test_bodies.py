from __future__ import annotations

import base64
import gzip
import io
import tracemalloc
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.bodies import (
    decode_store_body,
    decompress,
    parse_content_encoding,
    read_body,
)
from fixtrail.ingest.exceptions import BadRequest, IngestError, TooLarge

KiB = 1024
MiB = 1024 * KiB
EVENT = b'{"message":"hello","level":"error"}'


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class _TrickleStream:
    """A WSGI input that hands out a few bytes per read, like a slow socket."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = data
        self._step = step
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        take = min(size, self._step)
        chunk, self._data = self._data[:take], self._data[take:]
        return chunk


def test_it_reads_a_body_of_the_announced_length():
    stream = io.BytesIO(b"abcdefEXTRA")
    assert read_body(stream, 6, max_bytes=100) == b"abcdef"
    # Bytes past Content-Length belong to the next request on the connection.
    assert stream.read() == b"EXTRA"


def test_it_reads_a_chunked_body_to_its_end():
    stream = _TrickleStream(b"x" * 100)
    assert read_body(stream, None, max_bytes=100) == b"x" * 100


def test_it_refuses_an_announced_length_over_the_limit_without_reading():
    stream = _TrickleStream(b"x" * 101)
    with pytest.raises(
        TooLarge, match="^request body is 101 bytes; the limit is 100 bytes$"
    ):
        read_body(stream, 101, max_bytes=100)
    assert stream.reads == 0


def test_it_refuses_a_chunked_body_over_the_limit():
    stream = _TrickleStream(b"x" * 1000, step=50)
    with pytest.raises(TooLarge, match="^request body exceeds the limit of 100 bytes$"):
        read_body(stream, None, max_bytes=100)
    # Reading stops one byte past the limit instead of draining the socket.
    assert stream.reads == 3


def test_it_rejects_a_body_shorter_than_announced():
    with pytest.raises(BadRequest, match="^request body ended after 3 of 10 bytes$"):
        read_body(io.BytesIO(b"abc"), 10, max_bytes=100)


def test_it_reads_an_empty_body():
    assert read_body(io.BytesIO(b""), 0, max_bytes=100) == b""
    assert read_body(io.BytesIO(b""), None, max_bytes=100) == b""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("identity", []),
        ("UTF-8", []),
        ("utf8", []),
        ("gzip", ["gzip"]),
        ("GZip", ["gzip"]),
        ("x-gzip", ["x-gzip"]),
        ("deflate", ["deflate"]),
        ("br", ["br"]),
        ("zstd", ["zstd"]),
        ("gzip, br", ["br", "gzip"]),
        (" identity , gzip ", ["gzip"]),
    ],
)
def test_it_parses_content_encoding(header, expected):
    assert parse_content_encoding(header) == expected


def test_it_rejects_an_unknown_content_encoding():
    with pytest.raises(BadRequest, match="^unsupported Content-Encoding: 'compress'$"):
        parse_content_encoding("compress")


def test_it_rejects_too_many_encoding_layers():
    with pytest.raises(
        BadRequest, match="^Content-Encoding lists 3 encodings; at most 2 are accepted$"
    ):
        parse_content_encoding("gzip, gzip, gzip")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("br", brotli.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("", lambda data: data),
        ("identity", lambda data: data),
        ("UTF-8", lambda data: data),
    ],
)
def test_it_decompresses_each_encoding(encoding, encode):
    assert decompress(encode(EVENT), encoding, max_bytes=MiB) == EVENT


def test_it_undoes_two_layers_in_reverse_order():
    body = brotli.compress(gzip.compress(EVENT))
    assert decompress(body, "gzip, br", max_bytes=MiB) == EVENT


def test_it_joins_concatenated_gzip_members():
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    assert decompress(body, "gzip", max_bytes=MiB) == b"first second"


def test_it_applies_the_limit_across_gzip_members():
    body = gzip.compress(b"a" * 60) + gzip.compress(b"b" * 60)
    with pytest.raises(
        TooLarge, match="^decompressed body exceeds the limit of 100 bytes$"
    ):
        decompress(body, "gzip", max_bytes=100)


def test_it_accepts_a_body_exactly_at_the_limit():
    assert decompress(gzip.compress(b"a" * 100), "gzip", max_bytes=100) == b"a" * 100


def test_it_refuses_an_uncompressed_body_over_the_limit():
    with pytest.raises(TooLarge, match="^request body exceeds the limit of 3 bytes$"):
        decompress(b"abcd", "", max_bytes=3)


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        ("gzip", b"not gzip", "^body is not valid gzip data$"),
        ("gzip", gzip.compress(EVENT)[:-12], "^gzip stream is truncated$"),
        ("gzip", b"", "^gzip stream is truncated$"),
        ("deflate", b"\x00\x01\x02garbage", "^body is not valid deflate data$"),
        ("deflate", zlib.compress(EVENT)[:-6], "^deflate stream is truncated$"),
        ("br", b"\xff\xff\xff\xff", "^body is not valid br data$"),
        ("br", brotli.compress(EVENT * 50)[:-4], "^br stream is truncated$"),
        ("zstd", b"not zstd at all", "^body is not valid zstd data$"),
    ],
)
def test_it_rejects_corrupt_streams(encoding, body, message):
    with pytest.raises(BadRequest, match=message):
        decompress(body, encoding, max_bytes=MiB)


def _gzip_bomb() -> bytes:
    """Return 10 MiB of zeros as about 10 KiB of gzip."""
    return gzip.compress(b"\0" * (10 * MiB), 9)


def _deflate_bomb() -> bytes:
    return zlib.compress(b"\0" * (10 * MiB), 9)


def _brotli_bomb() -> bytes:
    """Return 1 GiB of zeros as under 2 KiB of brotli, built in 1 MiB steps."""
    compressor = brotli.Compressor(quality=5)
    zeros = b"\0" * MiB
    parts = [compressor.process(zeros) for _ in range(1024)]
    return b"".join(parts) + compressor.finish()


@pytest.mark.parametrize(
    ("encoding", "make_bomb"),
    [("gzip", _gzip_bomb), ("deflate", _deflate_bomb), ("br", _brotli_bomb)],
)
def test_it_stops_a_decompression_bomb_at_the_limit(encoding, make_bomb):
    bomb = make_bomb()
    assert len(bomb) < 11 * KiB
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            decompress(bomb, encoding, max_bytes=64 * KiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The work stops at the limit: a few hundred KiB at most, never the
    # megabytes or gigabytes the bomb would expand to.
    assert peak < 512 * KiB


def test_it_stops_a_zstd_bomb_at_the_limit():
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (64 * MiB))
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            decompress(bomb, "zstd", max_bytes=64 * KiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 512 * KiB


def test_it_passes_json_store_bodies_through():
    assert decode_store_body(EVENT, max_bytes=MiB) == EVENT
    assert decode_store_body(b"  \n" + EVENT, max_bytes=MiB) == b"  \n" + EVENT


def test_it_decodes_base64_zlib_store_bodies():
    body = base64.b64encode(zlib.compress(EVENT))
    assert decode_store_body(body, max_bytes=MiB) == EVENT


def test_it_decodes_base64_gzip_store_bodies():
    body = base64.b64encode(gzip.compress(EVENT))
    assert decode_store_body(body, max_bytes=MiB) == EVENT


def test_it_decodes_base64_json_store_bodies():
    body = base64.b64encode(EVENT)
    assert decode_store_body(body, max_bytes=MiB) == EVENT


def test_it_bounds_base64_zlib_store_bodies():
    body = base64.b64encode(zlib.compress(b"\0" * MiB))
    with pytest.raises(
        TooLarge, match="^decompressed body exceeds the limit of 1000 bytes$"
    ):
        decode_store_body(body, max_bytes=1000)


def test_it_rejects_store_bodies_that_are_neither_json_nor_base64():
    with pytest.raises(BadRequest, match="^body is neither JSON nor base64-encoded$"):
        decode_store_body(b"a", max_bytes=MiB)


def test_it_rejects_base64_of_garbage():
    with pytest.raises(BadRequest, match="^body is not valid zlib data$"):
        decode_store_body(base64.b64encode(b"garbage!"), max_bytes=MiB)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=4096),
    st.sampled_from(["gzip", "deflate", "br", "zstd", "", "identity", "gzip, br"]),
)
def test_it_decompresses_or_rejects_any_bytes_cleanly(body, encoding):
    try:
        result = decompress(body, encoding, max_bytes=64 * KiB)
    except IngestError as exc:
        assert exc.status in (400, 413)
        return
    assert len(result) <= 64 * KiB


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_it_decodes_or_rejects_any_store_body_cleanly(body):
    try:
        result = decode_store_body(body, max_bytes=64 * KiB)
    except IngestError as exc:
        assert exc.status in (400, 413)
        return
    assert len(result) <= max(len(body), 64 * KiB)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=20000), st.sampled_from(["gzip", "deflate", "br", "zstd"]))
def test_it_round_trips_any_payload(payload, encoding):
    encode = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
    }[encoding]
    assert decompress(encode(payload), encoding, max_bytes=64 * KiB) == payload
