"""Where uploaded chunks and artifact contents live: blobs named by sha1.

Keys in the blob store (fixtrail.storage)::

    symbols/chunks/3f/3f786850e387550fdab836ed7e6dc881de23001b
    symbols/files/a9/a9993e364706816aba3e25717850c26c9cd0d89d

A chunk is a piece of an upload as sentry-cli sent it (at most
MAX_CHUNK_BYTES); chunks are joined by the assemble step and removed by
retention after CHUNK_TTL. A file is one artifact's content, stored once
whatever the number of uploads, projects or releases that name it.

Blobs are written whole (the store's contract), so a reader never sees half
a file and two writers of the same content cannot corrupt it.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from fixtrail.storage import blob_store
from fixtrail.storage.local import TEMPORARY_PREFIX

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


def _key(kind: str, checksum: str) -> str:
    if not is_checksum(checksum):
        raise StorageError(f"not a sha1 checksum: {checksum[:50]!r}")
    return f"symbols/{kind}/{checksum[:2]}/{checksum}"


def save_chunk(checksum: str, data: bytes) -> None:
    """Store one uploaded chunk, after checking it is what its name says.

    Raises StorageError when the data is larger than MAX_CHUNK_BYTES or its
    sha1 is not ``checksum``. Storing a chunk again refreshes its age.
    """
    key = _key("chunks", checksum)
    if len(data) > MAX_CHUNK_BYTES:
        raise StorageError(f"chunk {checksum} is larger than {MAX_CHUNK_BYTES} bytes")
    if sha1_hex(data) != checksum:
        raise StorageError(f"chunk {checksum} does not match its checksum")
    blob_store().put(key, data)


def missing_chunks(checksums: Iterable[str]) -> list[str]:
    """Return the checksums (in order, once each) of chunks not stored."""
    store = blob_store()
    missing: list[str] = []
    for checksum in checksums:
        if checksum not in missing and store.size(_key("chunks", checksum)) is None:
            missing.append(checksum)
    return missing


def read_chunks(checksums: Iterable[str]) -> Iterator[bytes]:
    """Yield the stored chunks' contents in order."""
    store = blob_store()
    for checksum in checksums:
        yield store.get(_key("chunks", checksum))


def save_file(data: bytes) -> str:
    """Store an artifact's content once; return its sha1."""
    checksum = sha1_hex(data)
    key = _key("files", checksum)
    store = blob_store()
    if store.size(key) is None:
        store.put(key, data)
    return checksum


def read_tail(checksum: str, length: int) -> bytes:
    """Return the last ``length`` bytes of the file with this sha1;
    FileNotFoundError when it is gone."""
    return blob_store().tail(_key("files", checksum), length)


def local_file(checksum: str) -> Path:
    """Return a local path holding the file with this sha1 (for libraries
    that only open paths); FileNotFoundError when it is gone."""
    return blob_store().local_path(_key("files", checksum))


def read_file(checksum: str) -> bytes:
    """Return a stored file's content; FileNotFoundError when it is gone."""
    return blob_store().get(_key("files", checksum))


def stored_files() -> Iterator[str]:
    """Yield the checksum of every stored file."""
    for key, _ in blob_store().list("symbols/files/"):
        name = key.rpartition("/")[2]
        if is_checksum(name):
            yield name


def delete_file(checksum: str) -> None:
    """Remove a stored file (no error when it is already gone)."""
    blob_store().delete(_key("files", checksum))


def delete_old_chunks(now: float | None = None) -> int:
    """Remove chunks older than CHUNK_TTL (and temporary files a killed
    process left in a file store); return how many were removed."""
    now = time.time() if now is None else now
    store = blob_store()
    removed = 0
    for kind in ("chunks", "files"):
        for key, modified in list(store.list(f"symbols/{kind}/")):
            stray = key.rpartition("/")[2].startswith(TEMPORARY_PREFIX)
            if (kind == "chunks" or stray) and modified < now - CHUNK_TTL:
                store.delete(key)
                removed += 1
    return removed
