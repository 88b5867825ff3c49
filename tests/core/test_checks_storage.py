"""`fixtrail check` tells whether the blob store can be written."""

from __future__ import annotations

from fixtrail.core.checks import check_storage


def test_it_is_quiet_when_the_store_can_be_written(any_store):
    assert check_storage() == []


def test_it_warns_when_the_object_store_is_unreachable(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    settings.STORAGE_URL = "s3://b/p?endpoint_url=http://127.0.0.1:9&region=us-east-1"
    [warning] = check_storage()
    assert warning.id == "fixtrail.W009"
    assert "object store unreachable" in warning.msg


def test_it_warns_about_a_storage_url_it_cannot_use(settings):
    settings.STORAGE_URL = "ftp://example.com/blobs"
    [warning] = check_storage()
    assert "use file:///a/directory or s3://" in warning.msg


def test_it_warns_when_the_bucket_does_not_exist(settings, s3_storage, s3_endpoint):
    settings.STORAGE_URL = f"s3://no-such-bucket/p?endpoint_url={s3_endpoint}"
    [warning] = check_storage()
    assert "NoSuchBucket" in warning.msg
