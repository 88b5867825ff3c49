"""An S3 stand-in for the tests: moto's server, a separate process that
speaks S3's REST API over HTTP, so boto3 talks to it as to AWS or MinIO."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.servers import free_port

START_TIMEOUT_SECONDS = 30.0
# moto accepts any credentials; boto3 insists on having some.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "fixtrail-test",
    "AWS_SECRET_ACCESS_KEY": "fixtrail-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    """Start moto's S3 server for the session; yield its endpoint URL."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    moto = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_for(endpoint, process, log)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


def _wait_for(endpoint: str, process: subprocess.Popen, log: Path) -> None:
    client = s3_client(endpoint)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"moto_server exited:\n{log.read_text()[-2000:]}")
        try:
            client.list_buckets()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def s3_client(endpoint: str):
    """Return a boto3 S3 client for the stand-in."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def new_bucket(endpoint: str) -> str:
    """Create an empty bucket; return its name."""
    name = f"fixtrail-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def storage_url(endpoint: str, bucket: str, prefix: str = "fixtrail") -> str:
    """Return the FIXTRAIL_STORAGE_URL of a bucket of the stand-in."""
    return f"s3://{bucket}/{prefix}?endpoint_url={endpoint}&region=us-east-1"


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_endpoint) -> str:
    """Point this test's FIXTRAIL_STORAGE_URL at a new, empty bucket; return
    the bucket's name."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = new_bucket(s3_endpoint)
    settings.STORAGE_URL = storage_url(s3_endpoint, bucket)
    return bucket


@pytest.fixture(params=["file", "s3"])
def any_store(request) -> str:
    """Run the test once with the default file store and once with S3."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """Return every key in ``bucket``."""
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
