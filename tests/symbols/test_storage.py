"""Chunks and files stored by sha1, in files and in S3 (moto's server)."""

from __future__ import annotations

import time

import pytest

from fixtrail.symbols import storage
from tests.symbols.bundles import sha1

# Every test here runs with each kind of blob store.
pytestmark = pytest.mark.usefixtures("any_store")


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
    assert storage.delete_old_chunks(time.time() + storage.CHUNK_TTL - 60) == 0
    assert storage.delete_old_chunks(time.time() + storage.CHUNK_TTL + 60) == 1
    assert storage.missing_chunks([sha1(b"old")]) == [sha1(b"old")]


def test_it_reads_the_tail_of_a_file_and_gives_a_local_copy():
    checksum = storage.save_file(b"x" * 100 + b"//# sourceMappingURL=a.map")
    assert storage.read_tail(checksum, 10) == b"gURL=a.map"
    assert storage.local_file(checksum).read_bytes().endswith(b"a.map")
    storage.delete_file(checksum)
    assert list(storage.stored_files()) == []
