"""Chunks and files stored by sha1 under the data directory."""

from __future__ import annotations

import os
import time

import pytest

from fixtrail.symbols import storage
from tests.symbols.bundles import sha1


def test_it_stores_a_chunk_under_its_checksum():
    storage.save_chunk(sha1(b"part"), b"part")
    assert storage.missing_chunks([sha1(b"part"), sha1(b"other")]) == [sha1(b"other")]
    assert list(storage.read_chunks([sha1(b"part")])) == [b"part"]


def test_it_refuses_a_chunk_whose_content_does_not_match():
    with pytest.raises(storage.StorageError, match="does not match its checksum"):
        storage.save_chunk(sha1(b"part"), b"tampered")
    assert storage.missing_chunks([sha1(b"part")]) == [sha1(b"part")]


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABC", "0" * 39, ""])
def test_it_refuses_a_name_that_is_not_a_sha1(name):
    with pytest.raises(storage.StorageError, match="not a sha1 checksum"):
        storage.save_chunk(name, b"x")


def test_it_stores_a_file_once():
    first = storage.save_file(b"content")
    second = storage.save_file(b"content")
    assert first == second == sha1(b"content")
    assert list(storage.stored_files()) == [first]
    assert storage.read_file(first) == b"content"


def test_it_removes_chunks_older_than_a_day():
    storage.save_chunk(sha1(b"old"), b"old")
    storage.save_chunk(sha1(b"new"), b"new")
    now = time.time()
    old = storage._path("chunks", sha1(b"old"))
    os.utime(old, (now - storage.CHUNK_TTL - 60,) * 2)
    assert storage.delete_old_chunks(now) == 1
    assert storage.missing_chunks([sha1(b"old"), sha1(b"new")]) == [sha1(b"old")]
