"""Where attachments and uploaded artifacts live: a blob store.

Keys are relative paths such as ``attachments/3/<event id>/0-<random>-app.log``
or ``symbols/files/a9/a999…``. ``FIXTRAIL_STORAGE_URL`` picks the store:

- unset, or ``file:///srv/fixtrail``: files under that directory (by default
  the data directory), as every earlier version kept them;
- ``s3://bucket/optional/prefix``: an S3 bucket or any S3-compatible store
  (MinIO, Ceph, R2, ...), through boto3 (``pip install fixtrail[s3]``).
  Query parameters ``endpoint_url``, ``region`` and ``addressing_style``
  (``path`` or ``virtual``) reach boto3; credentials come from boto3's usual
  chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an
  instance role).

With an object store, no web or worker process needs a local file: any host
can take an upload and any other can serve or process it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class StorageUnavailable(OSError):
    """The store could not be reached or refused the request; an OSError so
    that callers treat it as they treat a full disk."""


class BlobStore(Protocol):
    """What Fixtrail needs of a place to keep blobs by key.

    Every method raises OSError (StorageUnavailable for a remote store) when
    the store fails, and FileNotFoundError where it says so.
    """

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` whole: a reader sees all of it or none."""

    def get(self, key: str) -> bytes:
        """Return the blob; FileNotFoundError when there is none."""

    def open(self, key: str) -> BinaryIO:
        """Return a readable stream of the blob; FileNotFoundError if none."""

    def tail(self, key: str, length: int) -> bytes:
        """Return the last ``length`` bytes of the blob (all of a shorter
        one); FileNotFoundError when there is none."""

    def size(self, key: str) -> int | None:
        """Return the blob's size in bytes, or None when there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob; no error when it is already gone."""

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Yield (key, modified time as a Unix timestamp) under ``prefix``."""

    def local_path(self, key: str) -> Path:
        """Return a local file holding the blob, for libraries that only
        read paths; FileNotFoundError when there is none."""


def check_key(key: str) -> str:
    """Return ``key`` when it is a relative path without ``..`` parts;
    raise ValueError otherwise (keys come partly from queue messages)."""
    parts = key.split("/")
    if not key or key.startswith("/") or "" in parts or ".." in parts:
        raise ValueError(f"not a storage key: {key[:100]!r}")
    return key


_stores: dict[str, BlobStore] = {}
_lock = threading.Lock()


def blob_store() -> BlobStore:
    """Return this process's store for the configured FIXTRAIL_STORAGE_URL."""
    url = settings.STORAGE_URL or Path(settings.FIXTRAIL_DATA_DIR).as_uri()
    store = _stores.get(url)
    if store is None:
        with _lock:
            store = _stores.get(url)
            if store is None:
                store = _stores[url] = store_from_url(url)
    return store


def store_from_url(url: str) -> BlobStore:
    """Return a store for ``url``; ImproperlyConfigured when it is unusable."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ImproperlyConfigured(
                f"FIXTRAIL_STORAGE_URL={url!r}: a file URL names an absolute "
                "directory, as in file:///srv/fixtrail"
            )
        from fixtrail.storage.local import FileStore

        return FileStore(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ImproperlyConfigured(
                f"FIXTRAIL_STORAGE_URL={url!r} names no bucket (s3://bucket/prefix)"
            )
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = options.keys() - {"endpoint_url", "region", "addressing_style"}
        if unknown:
            raise ImproperlyConfigured(
                f"FIXTRAIL_STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}"
            )
        from fixtrail.storage.s3 import S3Store

        return S3Store(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            cache_dir=Path(settings.FIXTRAIL_DATA_DIR) / "cache" / "blobs",
            **options,
        )
    raise ImproperlyConfigured(
        f"FIXTRAIL_STORAGE_URL={url!r}: use file:///a/directory or s3://bucket/prefix"
    )
