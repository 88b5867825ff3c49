"""Blobs in an S3 bucket, or any store that speaks S3's API, via boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from django.core.exceptions import ImproperlyConfigured

from fixtrail.storage import StorageUnavailable, check_key
from fixtrail.storage.local import write_atomically

# Seconds to wait for a connection and for each read; boto3's retries (in
# "standard" mode, with backoff) cover brief outages on top of this.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 4


class S3Store:
    """Blobs as objects under ``prefix`` in ``bucket``.

    ``local_path`` downloads into ``cache_dir`` once per key: it serves
    content-addressed artifacts (ProGuard mappings) that never change under
    the same key, and the cache can be deleted at any time.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str,
        cache_dir: Path,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str | None = None,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ImproperlyConfigured(
                "FIXTRAIL_STORAGE_URL is an s3:// URL but boto3 is not "
                "installed: pip install 'fixtrail[s3]'"
            ) from None
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.cache_dir = cache_dir
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            # Self-hosted S3 servers (MinIO and the like) seldom have the
            # wildcard DNS that virtual-host addressing needs.
            s3={
                "addressing_style": addressing_style
                or ("path" if endpoint_url else "auto")
            },
        )
        # boto3 clients are safe to share between threads.
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextmanager
    def _request(self, key: str) -> Iterator[None]:
        """Turn boto3's errors into the store's: FileNotFoundError for a
        missing object, StorageUnavailable for the rest."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from None
            raise StorageUnavailable(f"object store refused {key}: {code}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"object store unreachable: {error}") from error

    def _get_object(self, key: str) -> dict[str, Any]:
        with self._request(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))

    def put(self, key: str, data: bytes) -> None:
        """See BlobStore.put (an S3 PUT is atomic)."""
        with self._request(key):
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def get(self, key: str) -> bytes:
        """See BlobStore.get."""
        body = self._get_object(key)["Body"]
        with self._request(key):
            return body.read()

    def open(self, key: str) -> BinaryIO:
        """See BlobStore.open: the response body, streamed."""
        return self._get_object(key)["Body"]

    def tail(self, key: str, length: int) -> bytes:
        """See BlobStore.tail: one ranged GET."""
        with self._request(key):
            response = self.client.get_object(
                Bucket=self.bucket, Key=self._name(key), Range=f"bytes=-{length}"
            )
            return response["Body"].read()

    def size(self, key: str) -> int | None:
        """See BlobStore.size."""
        try:
            with self._request(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except FileNotFoundError:
            return None
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        """See BlobStore.delete."""
        with self._request(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        (self.cache_dir / key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        """See BlobStore.list."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        with self._request(prefix):
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    yield key, item["LastModified"].timestamp()

    def local_path(self, key: str) -> Path:
        """See BlobStore.local_path."""
        path = self.cache_dir / check_key(key)
        if path.is_file():
            return path
        write_atomically(path, self.get(key))
        return path
