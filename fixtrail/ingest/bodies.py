"""Read and decompress request bodies without ever holding more than a limit.

Two limits apply to every body: the bytes read off the socket (compressed,
``INGEST_MAX_REQUEST_BYTES``) and the bytes produced by decompression (set
by the caller per endpoint). Both are enforced while reading and while
inflating, not afterwards: zlib is given ``max_length`` and brotli an
``output_buffer_limit``, so a few kilobytes of gzip or brotli that would
expand to gigabytes stop at the limit plus one block, and answer 413.

Accepted ``Content-Encoding`` values: ``gzip``/``x-gzip``, ``deflate`` (zlib
framing, or raw deflate as some clients send), ``br`` and ``zstd``; several
may be listed, comma-separated, in the order they were applied. An empty
value, ``identity`` and ``UTF-8`` (a charset some SDKs put there by mistake)
mean "not compressed".

Legacy ``/store/`` clients (raven-python and its relatives) post the event as
base64 of zlib-compressed JSON with no ``Content-Encoding``;
:func:`decode_store_body` recognises that.
"""

from __future__ import annotations

import binascii
import io
import zlib
from typing import BinaryIO

from fixtrail.ingest.exceptions import BadRequest, TooLarge

# Socket reads of 64 KiB keep the number of Python-level calls low for large
# bodies without holding much more than the limit at any time.
READ_CHUNK_BYTES = 64 * 1024

# Real clients apply one encoding; two covers a proxy that compresses again.
# More layers only make sense as an attack, since each one is a new bomb.
MAX_ENCODING_LAYERS = 2

_IGNORED_ENCODINGS = frozenset({"", "identity", "utf-8", "utf8"})
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


def read_body(stream: BinaryIO, content_length: int | None, max_bytes: int) -> bytes:
    """Read a request body from ``stream``, at most ``max_bytes`` of it.

    With a ``content_length`` exactly that many bytes are read (reading past
    it can block on a keep-alive connection); without one (chunked transfer
    encoding) the stream is read to its end, which the server must signal.
    Raises TooLarge as soon as the body is known to exceed ``max_bytes``, and
    BadRequest when the stream ends before ``content_length`` bytes arrived.
    """
    if content_length is not None and content_length > max_bytes:
        raise TooLarge(
            f"request body is {content_length} bytes; the limit is {max_bytes} bytes"
        )
    wanted = max_bytes + 1 if content_length is None else content_length
    chunks: list[bytes] = []
    received = 0
    while received < wanted:
        chunk = stream.read(min(READ_CHUNK_BYTES, wanted - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    if received > max_bytes:
        raise TooLarge(f"request body exceeds the limit of {max_bytes} bytes")
    if content_length is not None and received < content_length:
        raise BadRequest(
            f"request body ended after {received} of {content_length} bytes"
        )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_content_encoding(header: str | None) -> list[str]:
    """Return the encodings named in a ``Content-Encoding`` header, in the
    order they must be undone (last applied first), ignored values dropped.

    Raises BadRequest for an encoding this module cannot undo, or for more
    than MAX_ENCODING_LAYERS of them.
    """
    if not header:
        return []
    names = [part.strip().lower() for part in header.split(",")]
    names = [name for name in names if name not in _IGNORED_ENCODINGS]
    if len(names) > MAX_ENCODING_LAYERS:
        raise BadRequest(
            f"Content-Encoding lists {len(names)} encodings; "
            f"at most {MAX_ENCODING_LAYERS} are accepted"
        )
    for name in names:
        if name not in _DECODERS:
            raise BadRequest(f"unsupported Content-Encoding: {name[:40]!r}")
    return names[::-1]


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo the ``Content-Encoding`` of ``body``, producing at most ``max_bytes``.

    Raises TooLarge when the decompressed body would exceed ``max_bytes`` (the
    work stops there), and BadRequest for an unknown encoding or a corrupt or
    truncated stream.
    """
    for name in parse_content_encoding(content_encoding):
        body = _DECODERS[name](body, max_bytes)
    if len(body) > max_bytes:
        raise TooLarge(f"request body exceeds the limit of {max_bytes} bytes")
    return body


def decode_store_body(body: bytes, max_bytes: int) -> bytes:
    """Return a ``/store/`` body as JSON bytes, undoing base64(zlib(json)).

    A body that already looks like JSON (its first non-blank byte is ``{``
    or ``[``, neither of which base64 uses) is returned as it is. Anything
    else is taken as base64, and what that decodes to as zlib (or gzip)
    unless it is JSON itself. Raises BadRequest when neither reading works
    and TooLarge past ``max_bytes``.
    """
    stripped = body.lstrip()
    if not stripped or stripped[:1] in (b"{", b"["):
        return body
    try:
        decoded = binascii.a2b_base64(stripped, strict_mode=False)
    except binascii.Error:
        raise BadRequest("body is neither JSON nor base64-encoded") from None
    if decoded.lstrip()[:1] == b"{":
        return decoded
    if decoded[:2] == b"\x1f\x8b":
        return _inflate(decoded, _GZIP_WBITS, max_bytes, "gzip")
    return _inflate(decoded, _ZLIB_WBITS, max_bytes, "zlib")


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    return _inflate(body, _GZIP_WBITS, max_bytes, "gzip")


def _inflate_deflate(body: bytes, max_bytes: int) -> bytes:
    # HTTP's "deflate" means zlib framing, but several clients send raw
    # deflate; a zlib stream announces itself with a header whose 16-bit
    # value is a multiple of 31 and whose method nibble is 8.
    if len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0:
        return _inflate(body, _ZLIB_WBITS, max_bytes, "deflate")
    return _inflate(body, _RAW_DEFLATE_WBITS, max_bytes, "deflate")


def _inflate(data: bytes, wbits: int, max_bytes: int, name: str) -> bytes:
    parts: list[bytes] = []
    produced = 0
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            # max_length stops inflation one byte past the limit, so the
            # output buffer never grows beyond what is allowed anyway.
            part = inflater.decompress(data, max_bytes - produced + 1)
        except zlib.error:
            raise BadRequest(f"body is not valid {name} data") from None
        produced += len(part)
        if produced > max_bytes:
            raise TooLarge(f"decompressed body exceeds the limit of {max_bytes} bytes")
        parts.append(part)
        if not inflater.eof:
            raise BadRequest(f"{name} stream is truncated")
        # gzip allows several members back to back (RFC 1952 section 2.2).
        data = inflater.unused_data
        if wbits != _GZIP_WBITS or not data:
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _unbrotli(body: bytes, max_bytes: int) -> bytes:
    import brotli

    decompressor = brotli.Decompressor()
    try:
        # output_buffer_limit stops the output from growing once it reaches
        # the limit; the remaining input then stays unprocessed.
        output = decompressor.process(body, output_buffer_limit=max_bytes + 1)
    except brotli.error:
        raise BadRequest("body is not valid br data") from None
    if len(output) > max_bytes:
        raise TooLarge(f"decompressed body exceeds the limit of {max_bytes} bytes")
    if not decompressor.is_finished():
        raise BadRequest("br stream is truncated")
    return output


def _unzstd(body: bytes, max_bytes: int) -> bytes:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(
        io.BytesIO(body), read_across_frames=True
    )
    parts: list[bytes] = []
    produced = 0
    try:
        while True:
            part = reader.read(min(READ_CHUNK_BYTES, max_bytes - produced + 1))
            if not part:
                break
            produced += len(part)
            if produced > max_bytes:
                raise TooLarge(
                    f"decompressed body exceeds the limit of {max_bytes} bytes"
                )
            parts.append(part)
    except zstandard.ZstdError:
        raise BadRequest("body is not valid zstd data") from None
    return b"".join(parts)


def decompress_prefix(body: bytes, content_encoding: str | None, size: int) -> bytes:
    """Return at most the first ``size`` bytes of the decoded body.

    For reading an envelope's header before the request is authenticated:
    nothing past ``size`` is inflated, and a stream cut short is no error.
    Raises BadRequest for an unknown encoding or corrupt data.
    """
    for name in parse_content_encoding(content_encoding):
        body = _PREFIX_DECODERS[name](body, size)
    return body[:size]


def _inflate_prefix(data: bytes, wbits: int, size: int) -> bytes:
    try:
        return zlib.decompressobj(wbits).decompress(data, size)
    except zlib.error:
        raise BadRequest("body is not valid compressed data") from None


def _deflate_prefix(body: bytes, size: int) -> bytes:
    zlib_framed = (
        len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    )
    return _inflate_prefix(
        body, _ZLIB_WBITS if zlib_framed else _RAW_DEFLATE_WBITS, size
    )


def _brotli_prefix(body: bytes, size: int) -> bytes:
    import brotli

    try:
        return brotli.Decompressor().process(body, output_buffer_limit=size)
    except brotli.error:
        raise BadRequest("body is not valid br data") from None


def _zstd_prefix(body: bytes, size: int) -> bytes:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body))
    try:
        return reader.read(size)
    except zstandard.ZstdError:
        raise BadRequest("body is not valid zstd data") from None


_PREFIX_DECODERS = {
    "gzip": lambda body, size: _inflate_prefix(body, _GZIP_WBITS, size),
    "x-gzip": lambda body, size: _inflate_prefix(body, _GZIP_WBITS, size),
    "deflate": _deflate_prefix,
    "br": _brotli_prefix,
    "zstd": _zstd_prefix,
}


_DECODERS = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate_deflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}
