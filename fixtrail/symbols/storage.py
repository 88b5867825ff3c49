"""Where uploaded chunks and artifact contents live: files named by sha1.

Layout under the data directory::

    symbols/chunks/3f/3f786850e387550fdab836ed7e6dc881de23001b
    symbols/files/a9/a9993e364706816aba3e25717850c26c9cd0d89d

A chunk is a piece of an upload as sentry-cli sent it (at most
MAX_CHUNK_BYTES); chunks are joined by the assemble step and removed by
retention after CHUNK_TTL. A file is one artifact's content, stored once
whatever the number of uploads, projects or releases that name it.

Writes go to a temporary file in the same directory first and are renamed
into place, so a reader never sees half a file and two writers of the same
content cannot corrupt it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

# One chunk of sentry-cli's upload: its own default (8 MiB) is what Sentry
# advertises as chunkSize.
MAX_CHUNK_BYTES = 8 * 1024 * 1024
# Chunks waiting for their assemble call are kept this long (seconds).
CHUNK_TTL = 24 * 3600

_SHA1 = re.compile(r"[0-9a-f]{40}")


class StorageError(ValueError):
    """A chunk or file could not be stored: bad name, size or checksum."""


def sha1_hex(data: bytes) -> str:
    """Return the sha1 of ``data`` as sentry-cli names chunks and files
    (an identity, not a security check)."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def is_checksum(text: str) -> bool:
    """Return True when ``text`` is a lowercase sha1 hex digest."""
    return bool(_SHA1.fullmatch(text))


def _root() -> Path:
    return Path(settings.FIXTRAIL_DATA_DIR) / "symbols"


def _path(kind: str, checksum: str) -> Path:
    if not is_checksum(checksum):
        raise StorageError(f"not a sha1 checksum: {checksum[:50]!r}")
    return _root() / kind / checksum[:2] / checksum


def _write(path: Path, chunks: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            for data in chunks:
                out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_chunk(checksum: str, data: bytes) -> None:
    """Store one uploaded chunk, after checking it is what its name says.

    Raises StorageError when the data is larger than MAX_CHUNK_BYTES or its
    sha1 is not ``checksum``. Storing a chunk that is already there only
    refreshes its age.
    """
    path = _path("chunks", checksum)
    if len(data) > MAX_CHUNK_BYTES:
        raise StorageError(f"chunk {checksum} is larger than {MAX_CHUNK_BYTES} bytes")
    if sha1_hex(data) != checksum:
        raise StorageError(f"chunk {checksum} does not match its checksum")
    if path.exists():
        os.utime(path)
        return
    _write(path, [data])


def missing_chunks(checksums: Iterable[str]) -> list[str]:
    """Return the checksums (in order, once each) of chunks not stored."""
    missing: list[str] = []
    for checksum in checksums:
        if checksum not in missing and not _path("chunks", checksum).exists():
            missing.append(checksum)
    return missing


def read_chunks(checksums: Iterable[str]) -> Iterator[bytes]:
    """Yield the stored chunks' contents in order."""
    for checksum in checksums:
        yield _path("chunks", checksum).read_bytes()


def save_file(data: bytes) -> str:
    """Store an artifact's content once; return its sha1."""
    checksum = sha1_hex(data)
    path = _path("files", checksum)
    if not path.exists():
        _write(path, [data])
    return checksum


def file_path(checksum: str) -> Path:
    """Return where the file with this sha1 is (it may not exist)."""
    return _path("files", checksum)


def read_file(checksum: str) -> bytes:
    """Return a stored file's content; FileNotFoundError when it is gone."""
    return _path("files", checksum).read_bytes()


def stored_files() -> Iterator[str]:
    """Yield the checksum of every stored file."""
    base = _root() / "files"
    if base.is_dir():
        for path in base.glob("*/*"):
            if is_checksum(path.name):
                yield path.name


def delete_file(checksum: str) -> None:
    """Remove a stored file (no error when it is already gone)."""
    _path("files", checksum).unlink(missing_ok=True)


def delete_old_chunks(now: float | None = None) -> int:
    """Remove chunks older than CHUNK_TTL (and stray temporary files);
    return how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    for kind in ("chunks", "files"):
        base = _root() / kind
        if not base.is_dir():
            continue
        for path in base.glob("*/*"):
            stray = path.name.startswith(".part-")
            if (kind == "chunks" or stray) and path.stat().st_mtime < now - CHUNK_TTL:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
