"""The blob store contract, for the file store and for S3 (moto's server)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from fixtrail.storage import StorageUnavailable, blob_store, store_from_url
from fixtrail.storage.local import FileStore
from fixtrail.storage.s3 import S3Store
from tests.object_store import bucket_keys


@pytest.fixture
def store(any_store):
    """Each contract test runs against both kinds of store."""
    return blob_store()


def test_it_keeps_what_is_put(store):
    store.put("attachments/1/e/0-a.txt", b"first")
    store.put("attachments/1/e/0-a.txt", b"second")
    assert store.get("attachments/1/e/0-a.txt") == b"second"
    assert store.size("attachments/1/e/0-a.txt") == 6
    with store.open("attachments/1/e/0-a.txt") as stream:
        assert stream.read() == b"second"


def test_it_reads_the_tail_of_a_blob(store):
    store.put("symbols/files/ab/x", b"0123456789")
    assert store.tail("symbols/files/ab/x", 4) == b"6789"
    assert store.tail("symbols/files/ab/x", 100) == b"0123456789"


def test_it_says_when_a_blob_is_missing(store):
    assert store.size("attachments/none") is None
    with pytest.raises(FileNotFoundError):
        store.get("attachments/none")
    with pytest.raises(FileNotFoundError):
        store.open("attachments/none")
    with pytest.raises(FileNotFoundError):
        store.local_path("attachments/none")
    store.delete("attachments/none")


def test_it_lists_and_deletes_by_prefix(store):
    for key in ["symbols/chunks/aa/1", "symbols/chunks/bb/2", "symbols/files/cc/3"]:
        store.put(key, b"x")
    listed = dict(store.list("symbols/chunks/"))
    assert sorted(listed) == ["symbols/chunks/aa/1", "symbols/chunks/bb/2"]
    assert all(modified > 1.6e9 for modified in listed.values())
    store.delete("symbols/chunks/aa/1")
    assert sorted(key for key, _ in store.list("symbols/")) == [
        "symbols/chunks/bb/2",
        "symbols/files/cc/3",
    ]


def test_it_gives_a_local_file_for_libraries_that_need_a_path(store):
    store.put("symbols/files/dd/mapping", b"com.example.A -> a:\n")
    path = store.local_path("symbols/files/dd/mapping")
    assert path.read_bytes() == b"com.example.A -> a:\n"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "a/../../b", "a//b", "../x"])
def test_it_refuses_keys_that_leave_the_store(store, key):
    with pytest.raises(ValueError, match="not a storage key"):
        store.put(key, b"x")


def test_the_file_store_keeps_files_under_the_data_directory(settings):
    settings.STORAGE_URL = ""
    store = blob_store()
    store.put("attachments/1/e/0-a.txt", b"x")
    assert (settings.FIXTRAIL_DATA_DIR / "attachments/1/e/0-a.txt").read_bytes() == b"x"
    # Nothing but the file itself: the temporary file was renamed into place.
    assert [
        p.name for p in (settings.FIXTRAIL_DATA_DIR / "attachments/1/e").iterdir()
    ] == ["0-a.txt"]


def test_the_s3_store_keeps_objects_under_its_prefix(s3_storage, s3_endpoint):
    blob_store().put("attachments/1/e/0-a.txt", b"x")
    assert bucket_keys(s3_endpoint, s3_storage) == ["fixtrail/attachments/1/e/0-a.txt"]


def test_an_unreachable_object_store_is_an_os_error(tmp_path):
    store = S3Store(
        bucket="b",
        prefix="",
        cache_dir=tmp_path,
        endpoint_url="http://127.0.0.1:9",
        region="us-east-1",
    )
    with pytest.raises(StorageUnavailable):
        store.put("attachments/x", b"x")
    assert issubclass(StorageUnavailable, OSError)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file://relative/dir", "absolute directory"),
        ("s3:///prefix", "names no bucket"),
        ("s3://bucket/p?colour=blue", "unknown option"),
        ("ftp://host/dir", "use file:///a/directory or s3://"),
    ],
)
def test_it_explains_an_unusable_storage_url(url, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        store_from_url(url)


def test_it_reads_a_file_url(tmp_path):
    store = store_from_url(tmp_path.as_uri())
    assert isinstance(store, FileStore)
    assert store.root == tmp_path
