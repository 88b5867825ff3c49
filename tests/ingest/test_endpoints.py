from __future__ import annotations

import base64
import gzip
import re
import tracemalloc
import zlib

import brotli
import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fixtrail.ingest.outbox import forget_backlog
from fixtrail.ingest.stats import STATS, flush_stats
from tests.builders import make_project
from tests.ingest.conftest import (
    auth_header,
    envelope,
    event_envelope,
    new_event_id,
    queued,
    queued_of_type,
)

KiB = 1024
MiB = 1024 * KiB
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
STORE_EVENT = orjson.dumps({"event_id": EVENT_ID, "message": "hello", "level": "error"})


def _envelope_url(key) -> str:
    return f"/api/{key.project_id}/envelope/"


def _store_url(key) -> str:
    return f"/api/{key.project_id}/store/"


def _post_event(sdk, key, event_id=EVENT_ID, headers=None):
    return sdk.request(
        "POST",
        _envelope_url(key),
        event_envelope(event_id),
        {**auth_header(key.public_key), **(headers or {})},
    )


def _assert_refused(answer, status, detail):
    assert answer.status == status
    assert answer.json() == {"detail": detail}
    assert answer.headers["x-sentry-error"] == detail
    assert answer.headers["content-type"] == "application/json"
    assert queued_of_type("event") == []


# Authentication


def test_it_accepts_the_key_in_x_sentry_auth(sdk, project_key):
    answer = _post_event(sdk, project_key)
    assert answer.status == 200
    assert answer.json() == {"id": EVENT_ID}
    [(header, payload)] = queued_of_type("event")
    assert header["event_id"] == EVENT_ID
    assert header["project_id"] == project_key.project_id
    assert header["key_id"] == project_key.id
    assert header["client_ip"] == "203.0.113.7"
    assert payload == orjson.dumps({"event_id": EVENT_ID, "message": "hello"})


def test_it_accepts_the_key_in_authorization(sdk, project_key):
    answer = sdk.request(
        "POST",
        _envelope_url(project_key),
        event_envelope(EVENT_ID),
        {"Authorization": f"Sentry sentry_key={project_key.public_key}"},
    )
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


def test_it_accepts_the_key_in_the_query_string(sdk, project_key):
    key = project_key.public_key
    url = f"{_envelope_url(project_key)}?sentry_key={key}&sentry_version=7"
    answer = sdk.request("POST", url, event_envelope(EVENT_ID))
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


def test_it_accepts_the_key_in_the_envelope_dsn(sdk, project_key):
    body = event_envelope(EVENT_ID, dsn=project_key.dsn)
    answer = sdk.request("POST", _envelope_url(project_key), body)
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_it_accepts_a_compressed_envelope_keyed_by_its_dsn(sdk, project_key, encoding):
    compress = {
        "gzip": gzip.compress,
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
    }[encoding]
    body = compress(event_envelope(EVENT_ID, dsn=project_key.dsn))
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, {"Content-Encoding": encoding}
    )
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


def test_it_refuses_a_keyless_bomb_before_inflating_it(wsgi_sdk, project_key):
    # 64 MiB once inflated, about 64 KiB on the wire, and no key anywhere
    # but where the envelope header would be: only the first line may be
    # inflated to find out that there is none.
    body = gzip.compress(b'{"event_id": "%s"}\n' % EVENT_ID.encode() + bytes(64 << 20))
    tracemalloc.start()
    try:
        answer = wsgi_sdk.request(
            "POST", _envelope_url(project_key), body, {"Content-Encoding": "gzip"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _assert_refused(
        answer,
        401,
        "missing authorization: send X-Sentry-Auth, sentry_key or a dsn header",
    )
    assert peak < 2 * len(body) + (1 << 20)


def test_it_accepts_the_same_key_in_header_and_dsn(sdk, project_key):
    body = event_envelope(EVENT_ID, dsn=project_key.dsn)
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200


def test_it_rejects_conflicting_header_and_query_keys(sdk, project_key):
    url = f"{_envelope_url(project_key)}?sentry_key={'0' * 32}"
    answer = sdk.request(
        "POST", url, event_envelope(EVENT_ID), auth_header(project_key.public_key)
    )
    _assert_refused(
        answer, 400, "X-Sentry-Auth and the sentry_key parameter name different keys"
    )


def test_it_rejects_conflicting_header_and_dsn_keys(sdk, project_key):
    body = event_envelope(EVENT_ID, dsn=f"https://{'0' * 32}@example.com/1")
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(answer, 400, "the envelope dsn and the request name different keys")


@pytest.mark.parametrize("endpoint", ["store", "envelope"])
def test_it_requires_a_key(sdk, project_key, endpoint):
    body = STORE_EVENT if endpoint == "store" else event_envelope(EVENT_ID)
    answer = sdk.request("POST", f"/api/{project_key.project_id}/{endpoint}/", body)
    detail = (
        "missing authorization: send X-Sentry-Auth or sentry_key"
        if endpoint == "store"
        else "missing authorization: send X-Sentry-Auth, sentry_key or a dsn header"
    )
    _assert_refused(answer, 401, detail)


def test_it_rejects_an_unknown_key(sdk, project_key):
    answer = sdk.request(
        "POST",
        _envelope_url(project_key),
        event_envelope(EVENT_ID),
        auth_header("f" * 32),
    )
    _assert_refused(answer, 401, "unknown DSN key")


def test_it_rejects_a_disabled_key(sdk, project_key):
    project_key.is_active = False
    project_key.save(update_fields=["is_active"])
    answer = _post_event(sdk, project_key)
    _assert_refused(answer, 403, "this DSN key is disabled")


def test_it_rejects_a_key_of_another_project(sdk, project_key, charlies_project):
    answer = sdk.request(
        "POST",
        f"/api/{charlies_project.id}/envelope/",
        event_envelope(EVENT_ID),
        auth_header(project_key.public_key),
    )
    _assert_refused(
        answer, 404, "unknown project, or the DSN key is not one of its keys"
    )


def test_it_answers_an_unknown_project_like_a_foreign_one(sdk, project_key):
    answer = sdk.request(
        "POST",
        "/api/999999/envelope/",
        event_envelope(EVENT_ID),
        auth_header(project_key.public_key),
    )
    _assert_refused(
        answer, 404, "unknown project, or the DSN key is not one of its keys"
    )


def test_it_does_not_count_requests_without_a_valid_key(sdk, project_key):
    sdk.request("POST", _envelope_url(project_key), b"garbage", auth_header("f" * 32))
    flush_stats()
    # Only the accumulator is consulted: nothing was added, so no message.
    assert queued() == []


# Responses and routing


def test_it_accepts_urls_without_trailing_slash(sdk, project_key):
    answer = sdk.request(
        "POST",
        f"/api/{project_key.project_id}/envelope",
        event_envelope(EVENT_ID),
        auth_header(project_key.public_key),
    )
    assert answer.status == 200
    assert answer.json() == {"id": EVENT_ID}


def test_it_answers_an_empty_object_without_an_event(sdk, project_key):
    body = envelope([({"type": "transaction"}, b'{"type":"transaction"}')])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {}
    assert queued() == []


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_it_accepts_bodies_of_preflight_free_content_types(
    sdk, project_key, content_type
):
    # Browsers send these without a CORS preflight; the body is still an
    # envelope, and nothing may parse it as a form first.
    answer = _post_event(sdk, project_key, headers={"Content-Type": content_type})
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


def test_it_refuses_get(sdk, project_key):
    answer = sdk.request("GET", _envelope_url(project_key))
    assert answer.status == 405
    assert answer.json() == {"detail": "use POST to send events"}
    assert answer.headers["allow"] == "POST, OPTIONS"


# CORS


def test_it_answers_a_preflight_for_any_origin(sdk, project_key):
    answer = sdk.request(
        "OPTIONS",
        _envelope_url(project_key),
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, sentry-trace",
        },
    )
    assert answer.status == 200
    assert answer.body == b""
    assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    assert answer.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert (
        answer.headers["access-control-allow-headers"] == "content-type, sentry-trace"
    )
    assert answer.headers["access-control-max-age"] == "3600"
    assert answer.headers["access-control-expose-headers"] == (
        "x-sentry-error, x-sentry-rate-limits, retry-after"
    )


def test_it_allows_any_origin_by_default(sdk, project_key):
    answer = _post_event(sdk, project_key, headers={"Origin": "https://shop.example"})
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    assert answer.headers["access-control-expose-headers"] == (
        "x-sentry-error, x-sentry-rate-limits, retry-after"
    )


@pytest.mark.parametrize(
    "origin", ["https://shop.example", "http://localhost:3000", "https://a.cdn.example"]
)
def test_it_accepts_listed_origins(sdk, project_key, origin):
    project = project_key.project
    project.allowed_origins = "https://shop.example\nlocalhost\n*.cdn.example\n"
    project.save(update_fields=["allowed_origins"])
    answer = _post_event(sdk, project_key, headers={"Origin": origin})
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == origin


def test_it_refuses_an_unlisted_origin(sdk, project_key):
    project = project_key.project
    project.allowed_origins = "https://shop.example"
    project.save(update_fields=["allowed_origins"])
    answer = _post_event(sdk, project_key, headers={"Origin": "https://evil.example"})
    _assert_refused(
        answer, 403, "origin https://evil.example may not send events to this project"
    )


# Encodings


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("br", brotli.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("UTF-8", lambda data: data),
        ("identity", lambda data: data),
    ],
)
def test_it_accepts_each_content_encoding(sdk, project_key, encoding, encode):
    answer = sdk.request(
        "POST",
        _envelope_url(project_key),
        encode(event_envelope(EVENT_ID)),
        {**auth_header(project_key.public_key), "Content-Encoding": encoding},
    )
    assert answer.status == 200
    [(header, payload)] = queued_of_type("event")
    assert payload == orjson.dumps({"event_id": EVENT_ID, "message": "hello"})


def test_it_reads_a_chunked_body(wsgi_sdk, project_key):
    answer = wsgi_sdk.request(
        "POST",
        _envelope_url(project_key),
        gzip.compress(event_envelope(EVENT_ID)),
        {**auth_header(project_key.public_key), "Content-Encoding": "gzip"},
        chunked=True,
    )
    assert answer.status == 200
    assert len(queued_of_type("event")) == 1


def test_it_rejects_an_unknown_encoding(sdk, project_key):
    answer = _post_event(sdk, project_key, headers={"Content-Encoding": "compress"})
    _assert_refused(answer, 400, "unsupported Content-Encoding: 'compress'")


def test_it_accepts_base64_zlib_store_bodies(sdk, project_key):
    body = base64.b64encode(zlib.compress(STORE_EVENT))
    answer = sdk.request(
        "POST", _store_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {"id": EVENT_ID}
    [(header, payload)] = queued_of_type("event")
    assert payload == STORE_EVENT


# Limits


def test_it_refuses_a_request_over_the_size_limit(sdk, project_key, settings):
    settings.INGEST_MAX_REQUEST_BYTES = 100
    body = event_envelope(EVENT_ID, {"message": "x" * 200})
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(
        answer, 413, f"request body is {len(body)} bytes; the limit is 100 bytes"
    )


def test_it_refuses_an_envelope_over_the_decompressed_limit(sdk, project_key, settings):
    settings.INGEST_MAX_ENVELOPE_BYTES = 1000
    body = gzip.compress(event_envelope(EVENT_ID, {"message": "x" * 2000}))
    answer = sdk.request(
        "POST",
        _envelope_url(project_key),
        body,
        {**auth_header(project_key.public_key), "Content-Encoding": "gzip"},
    )
    _assert_refused(answer, 413, "decompressed body exceeds the limit of 1000 bytes")


def test_it_refuses_an_event_item_over_the_event_limit(sdk, project_key, settings):
    settings.INGEST_MAX_EVENT_BYTES = 100
    body = event_envelope(EVENT_ID, {"message": "x" * 200})
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(answer, 413, "event item is 214 bytes; the limit is 100 bytes")


def test_it_refuses_a_store_event_over_the_event_limit(sdk, project_key, settings):
    settings.INGEST_MAX_EVENT_BYTES = 50
    answer = sdk.request(
        "POST",
        _store_url(project_key),
        STORE_EVENT,
        auth_header(project_key.public_key),
    )
    _assert_refused(answer, 413, "request body exceeds the limit of 50 bytes")


def test_it_refuses_an_attachment_over_the_attachment_limit(sdk, project_key, settings):
    settings.INGEST_MAX_ATTACHMENT_BYTES = 10
    body = envelope(
        [({"type": "attachment", "filename": "log.txt"}, b"x" * 11)],
        {"event_id": EVENT_ID},
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(answer, 413, "attachment item is 11 bytes; the limit is 10 bytes")
    assert not (settings.FIXTRAIL_DATA_DIR / "attachments").exists()


def test_it_stops_a_gzip_bomb_at_the_event_limit(wsgi_sdk, project_key):
    bomb = gzip.compress(b"\0" * (10 * MiB), 9)
    assert len(bomb) < 11 * KiB
    wsgi_sdk.request(
        "POST",
        _store_url(project_key),
        STORE_EVENT,
        auth_header(project_key.public_key),
    )
    tracemalloc.start()
    try:
        answer = wsgi_sdk.request(
            "POST",
            _store_url(project_key),
            bomb,
            {**auth_header(project_key.public_key), "Content-Encoding": "gzip"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status == 413
    assert answer.json() == {
        "detail": "decompressed body exceeds the limit of 1048576 bytes"
    }
    # Inflating stops at the 1 MiB event limit: the 10 MiB never exist.
    assert peak < 4 * MiB


# Rate limits


def test_it_answers_429_past_the_key_limit(sdk, project_key):
    project_key.rate_limit_per_minute = 2
    project_key.save(update_fields=["rate_limit_per_minute"])
    answers = [_post_event(sdk, project_key, new_event_id()) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 429]
    refused = answers[2]
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert refused.headers["x-sentry-rate-limits"] == (
        f"{retry_after}:error;default;security;attachment:key:key_rate_limit"
    )
    assert refused.json() == {
        "detail": "this DSN key's limit of 2 items a minute is reached"
    }
    assert len(queued_of_type("event")) == 2


def test_it_answers_429_past_the_project_quota(sdk, project_key):
    project = project_key.project
    project.quota_per_month = 1
    project.save(update_fields=["quota_per_month"])
    assert _post_event(sdk, project_key, new_event_id()).status == 200
    refused = _post_event(sdk, project_key, new_event_id())
    assert refused.status == 429
    assert refused.headers["x-sentry-rate-limits"].endswith(
        ":error;default;security;attachment:project:project_quota"
    )
    assert refused.json() == {
        "detail": "the project's quota of 1 items a month is used up"
    }


def test_it_applies_the_instance_wide_limit_across_projects(
    sdk, project_key, org, settings
):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    other_key = make_project(org, "frontend").keys.get()
    assert _post_event(sdk, project_key, new_event_id()).status == 200
    refused = _post_event(sdk, other_key, new_event_id())
    assert refused.status == 429
    assert refused.headers["x-sentry-rate-limits"].endswith(
        ":organization:instance_rate_limit"
    )


def test_it_does_not_rate_limit_envelopes_without_events(sdk, project_key):
    project_key.rate_limit_per_minute = 1
    project_key.save(update_fields=["rate_limit_per_minute"])
    assert _post_event(sdk, project_key, new_event_id()).status == 200
    body = envelope([({"type": "client_report"}, b'{"discarded_events":[]}')])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200


def test_it_rate_limits_attachments_without_an_event(sdk, project_key):
    project_key.rate_limit_per_minute = 1
    project_key.save(update_fields=["rate_limit_per_minute"])
    assert _post_event(sdk, project_key, new_event_id()).status == 200
    body = envelope(
        [({"type": "attachment", "filename": "dump.bin"}, bytes(1 << 20))],
        {"event_id": new_event_id()},
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 429
    assert queued_of_type("attachment") == []


def test_it_counts_refused_events_as_rate_limited(sdk, project_key):
    project_key.rate_limit_per_minute = 1
    project_key.save(update_fields=["rate_limit_per_minute"])
    _post_event(sdk, project_key, new_event_id())
    _post_event(sdk, project_key, new_event_id())
    queued()
    flush_stats()
    [(_, payload)] = queued_of_type("stats")
    outcomes = orjson.loads(payload)["outcomes"]
    assert sorted(
        (row["category"], row["outcome"], row["reason"], row["quantity"])
        for row in outcomes
    ) == [
        ("error", "accepted", None, 1),
        ("error", "rate_limited", "key_rate_limit", 1),
    ]


def test_it_answers_429_when_the_queue_is_full(sdk, project_key, settings):
    settings.QUEUE_MAX_ITEMS = 2
    answers = [_post_event(sdk, project_key, new_event_id()) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["x-sentry-rate-limits"] == (
        "60:error;default;security;attachment:organization:queue_full"
    )
    assert refused.json() == {
        "detail": "the server's event queue is full (2 items wait for digest); "
        "retry later"
    }
    assert len(queued_of_type("event")) == 2


def test_a_full_queue_spends_no_quota(sdk, project_key, settings):
    settings.QUEUE_MAX_ITEMS = 1
    project = project_key.project
    project.quota_per_month = 2
    project.save(update_fields=["quota_per_month"])
    assert _post_event(sdk, project_key, new_event_id()).status == 200
    assert _post_event(sdk, project_key, new_event_id()).status == 429
    # Digest made room: the quota still has its second item.
    queued()
    forget_backlog()
    assert _post_event(sdk, project_key, new_event_id()).status == 200


def test_an_unbounded_queue_takes_everything(sdk, project_key, settings):
    settings.QUEUE_MAX_ITEMS = 0
    answers = [_post_event(sdk, project_key, new_event_id()) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 200]


# Queue failures


def _post_event_with_attachment(sdk, project_key):
    body = envelope(
        [
            ({"type": "event"}, b'{"message":"hello"}'),
            ({"type": "attachment", "filename": "log.txt"}, b"log"),
        ],
        {"event_id": EVENT_ID},
    )
    return sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )


def test_it_answers_503_when_the_queue_is_unreachable(sdk, project_key, settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    answer = _post_event_with_attachment(sdk, project_key)
    assert answer.status == 503
    assert answer.json() == {"detail": "events cannot be stored right now; retry later"}
    assert (
        answer.headers["x-sentry-error"]
        == "events cannot be stored right now; retry later"
    )
    # The attachment written before the queue refused is removed again.
    folder = settings.FIXTRAIL_DATA_DIR / "attachments" / str(project_key.project_id)
    assert list(folder.rglob("*.txt")) == []


def test_it_answers_503_when_the_object_store_is_unreachable(
    sdk, project_key, settings, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    settings.STORAGE_URL = (
        "s3://blobs/p?endpoint_url=http://127.0.0.1:9&region=us-east-1"
    )
    answer = _post_event_with_attachment(sdk, project_key)
    assert answer.status == 503
    # Nothing half-accepted: the event waits for the SDK's retry.
    assert queued() == []


# Items


def test_it_stores_attachments_as_files(sdk, project_key, settings):
    body = envelope(
        [
            ({"type": "event"}, b'{"message":"hello"}'),
            (
                {
                    "type": "attachment",
                    "filename": "../../etc/pass wd",
                    "content_type": "text/plain",
                    "attachment_type": "event.attachment",
                },
                b"line 1\nline 2\r\n",
            ),
            (
                {
                    "type": "attachment",
                    "filename": "dump.dmp",
                    "attachment_type": "event.minidump",
                },
                b"\0\1\2",
            ),
        ],
        {"event_id": EVENT_ID},
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    items = queued_of_type("attachment")
    headers = [header for header, _ in items]
    project_id = project_key.project_id
    assert [
        (
            re.sub(r"/(\d)-[0-9a-f]{16}-", r"/\1-", h["path"]),
            h["filename"],
            h["content_type"],
            h["attachment_type"],
        )
        for h in headers
    ] == [
        (
            f"{project_id}/{EVENT_ID}/1-pass_wd",
            "../../etc/pass wd",
            "text/plain",
            "event.attachment",
        ),
        (
            f"{project_id}/{EVENT_ID}/2-dump.dmp",
            "dump.dmp",
            "application/octet-stream",
            "event.minidump",
        ),
    ]
    assert [payload for _, payload in items] == [b"", b""]
    assert all(h["event_id"] == EVENT_ID for h in headers)
    root = settings.FIXTRAIL_DATA_DIR / "attachments"
    assert (root / headers[0]["path"]).read_bytes() == b"line 1\nline 2\r\n"
    assert (root / headers[1]["path"]).read_bytes() == b"\0\1\2"


def test_it_counts_an_attachment_without_event_as_invalid(sdk, project_key):
    body = envelope([({"type": "attachment", "filename": "a.txt"}, b"a")])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {}
    flush_stats()
    [(header, payload)] = queued()
    assert header["type"] == "stats"
    assert orjson.loads(payload)["outcomes"] == [
        {
            "project_id": project_key.project_id,
            "category": "attachment",
            "outcome": "invalid",
            "reason": "attachment_without_event",
            "quantity": 1,
        }
    ]


def test_it_queues_user_reports_for_their_event(sdk, project_key):
    report = orjson.dumps(
        {
            "event_id": EVENT_ID,
            "name": "Ann",
            "email": "ann@example.org",
            "comments": "It broke",
        }
    )
    body = envelope([({"type": "user_report"}, report)], {"event_id": new_event_id()})
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    [(header, payload)] = queued_of_type("user_report")
    assert header["event_id"] == EVENT_ID
    assert payload == report


def test_it_queues_feedback(sdk, project_key):
    feedback = orjson.dumps(
        {
            "event_id": EVENT_ID,
            "contexts": {
                "feedback": {"message": "It broke", "associated_event_id": "a" * 32}
            },
        }
    )
    body = envelope([({"type": "feedback"}, feedback)], {"event_id": EVENT_ID})
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {"id": EVENT_ID}
    [(header, payload)] = queued_of_type("feedback")
    assert header["event_id"] == EVENT_ID
    assert payload == feedback


@pytest.mark.parametrize(
    ("item_type", "category"),
    [
        ("transaction", "transaction"),
        ("profile", "profile"),
        ("replay_event", "replay"),
        ("replay_recording", "replay"),
        ("check_in", "monitor"),
        ("span", "span"),
        ("log", "log_item"),
        ("something_new", "unknown"),
    ],
)
def test_it_counts_items_it_does_not_store(sdk, project_key, item_type, category):
    body = envelope([({"type": item_type}, b"{}")])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {}
    flush_stats()
    [(header, payload)] = queued()
    assert orjson.loads(payload)["outcomes"] == [
        {
            "project_id": project_key.project_id,
            "category": category,
            "outcome": "accepted",
            "reason": None,
            "quantity": 1,
        }
    ]


def test_it_counts_sessions_per_release(sdk, project_key):
    session = orjson.dumps(
        {
            "sid": "a" * 32,
            "init": True,
            "status": "exited",
            "attrs": {"release": "app@1.0", "environment": "prod"},
        }
    )
    aggregates = orjson.dumps(
        {
            "attrs": {"release": "app@1.0", "environment": "prod"},
            "aggregates": [
                {"started": "2024-05-01T10:00:00Z", "exited": 3, "crashed": 1}
            ],
        }
    )
    body = envelope(
        [({"type": "session"}, session), ({"type": "sessions"}, aggregates)]
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    flush_stats()
    [(_, payload)] = queued()
    sessions = orjson.loads(payload)["sessions"]
    assert sorted((row["status"], row["quantity"]) for row in sessions) == [
        ("crashed", 1),
        ("exited", 4),
        ("started", 5),
    ]
    assert {
        (row["project_id"], row["release"], row["environment"]) for row in sessions
    } == {(project_key.project_id, "app@1.0", "prod")}


def test_it_counts_what_client_reports_discarded(sdk, project_key):
    report = orjson.dumps(
        {
            "timestamp": "2024-05-01T10:00:00Z",
            "discarded_events": [
                {"reason": "queue_overflow", "category": "error", "quantity": 23},
                {"reason": "sample_rate", "category": "transaction", "quantity": 5},
            ],
        }
    )
    body = envelope([({"type": "client_report"}, report)])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    flush_stats()
    [(_, payload)] = queued()
    rows = orjson.loads(payload)["outcomes"]
    assert sorted(
        (r["category"], r["outcome"], r["reason"], r["quantity"]) for r in rows
    ) == [
        ("client_report", "accepted", None, 1),
        ("error", "client_discarded", "queue_overflow", 23),
        ("transaction", "client_discarded", "sample_rate", 5),
    ]


def test_it_rejects_an_item_event_id_contradicting_the_envelope(sdk, project_key):
    body = envelope(
        [({"type": "event", "event_id": "a" * 32}, b"{}")], {"event_id": EVENT_ID}
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(
        answer,
        400,
        f"item 0 event_id {'a' * 32} does not match the envelope event_id {EVENT_ID}",
    )


def test_it_rejects_two_events_in_one_envelope(sdk, project_key):
    body = envelope(
        [({"type": "event"}, b"{}"), ({"type": "event"}, b"{}")], {"event_id": EVENT_ID}
    )
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    _assert_refused(answer, 400, "envelope holds more than one event")


def test_it_takes_the_event_id_from_the_event_when_the_envelope_has_none(
    sdk, project_key
):
    payload = orjson.dumps({"event_id": "9ec79c33-ec99-42ab-8353-589fcb2e04dc"})
    body = envelope([({"type": "event"}, payload)])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.json() == {"id": EVENT_ID}
    [(header, _)] = queued_of_type("event")
    assert header["event_id"] == EVENT_ID


def test_it_makes_up_an_event_id_when_there_is_none(sdk, project_key):
    body = envelope([({"type": "event"}, b'{"message":"hi"}')])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    event_id = answer.json()["id"]
    assert len(event_id) == 32
    [(header, payload)] = queued_of_type("event")
    assert header["event_id"] == event_id
    assert payload == b'{"message":"hi"}'


def test_it_records_clock_drift_from_sent_at(sdk, project_key):
    body = event_envelope(EVENT_ID, sent_at="2001-01-01T00:00:00Z")
    sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    [(header, _)] = queued_of_type("event")
    assert header["clock_drift"] == pytest.approx(header["received_at"] - 978307200.0)


def test_it_records_no_drift_without_sent_at(sdk, project_key):
    _post_event(sdk, project_key)
    [(header, _)] = queued_of_type("event")
    assert header["clock_drift"] == 0.0


def test_it_rejects_a_malformed_envelope(sdk, project_key):
    answer = sdk.request(
        "POST",
        _envelope_url(project_key),
        b"{}\n{not json}\n",
        auth_header(project_key.public_key),
    )
    _assert_refused(answer, 400, "item 0 header is not valid JSON")


def test_it_normalizes_a_dashed_store_event_id(sdk, project_key):
    body = orjson.dumps({"event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC"})
    answer = sdk.request(
        "POST", _store_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.json() == {"id": EVENT_ID}


def test_it_rejects_a_store_body_that_is_not_an_object(sdk, project_key):
    answer = sdk.request(
        "POST", _store_url(project_key), b"[1, 2]", auth_header(project_key.public_key)
    )
    _assert_refused(answer, 400, "event is not a JSON object")


# Security reports

CSP_REPORT = orjson.dumps(
    {
        "csp-report": {
            "document-uri": "https://shop.example/cart",
            "referrer": "",
            "violated-directive": "script-src-elem",
            "effective-directive": "script-src-elem",
            "original-policy": "script-src 'self'; report-uri /csp",
            "disposition": "enforce",
            "blocked-uri": "https://cdn.evil.example/x.js",
            "line-number": 10,
            "status-code": 200,
        }
    }
)


def test_it_turns_a_csp_report_into_an_event(sdk, project_key):
    url = (
        f"/api/{project_key.project_id}/security/?sentry_key={project_key.public_key}"
        "&sentry_environment=prod&sentry_release=shop@2"
    )
    answer = sdk.request(
        "POST",
        url,
        CSP_REPORT,
        {"Content-Type": "application/csp-report", "User-Agent": "Firefox/130"},
    )
    assert answer.status == 200
    [(header, payload)] = queued_of_type("event")
    assert answer.json() == {"id": header["event_id"]}
    event = orjson.loads(payload)
    assert event["event_id"] == header["event_id"]
    assert event["logger"] == "csp"
    assert event["logentry"] == {
        "formatted": "Blocked https://cdn.evil.example by script-src-elem"
    }
    assert event["request"] == {
        "url": "https://shop.example/cart",
        "headers": [["User-Agent", "Firefox/130"]],
    }
    assert event["environment"] == "prod"
    assert event["release"] == "shop@2"
    assert event["csp"]["line_number"] == 10


def test_it_accepts_reporting_api_batches(sdk, project_key):
    report = {
        "type": "csp-violation",
        "url": "https://shop.example/",
        "body": {
            "documentURL": "https://shop.example/",
            "effectiveDirective": "img-src",
            "blockedURL": "https://img.evil.example/a.png",
        },
    }
    body = orjson.dumps([report, {"type": "deprecation", "body": {}}, report])
    url = f"/api/{project_key.project_id}/security/?sentry_key={project_key.public_key}"
    answer = sdk.request(
        "POST", url, body, {"Content-Type": "application/reports+json"}
    )
    assert answer.status == 200
    events = queued_of_type("event")
    assert len(events) == 2
    assert answer.json() == {"id": events[0][0]["event_id"]}


def test_it_rejects_a_security_report_without_violations(sdk, project_key):
    url = f"/api/{project_key.project_id}/security/?sentry_key={project_key.public_key}"
    answer = sdk.request("POST", url, b'{"expect-ct-report":{}}')
    _assert_refused(answer, 400, "security report is not a CSP report")


# Stats


def test_it_flushes_stats_with_a_request_once_due(sdk, project_key):
    # Counts from long ago: their interval has passed, so they are due.
    STATS.add_outcome(project_key.project_id, "session", "accepted", 4, now=0.0)
    _post_event(sdk, project_key)
    items = queued()
    assert [header["type"] for header, _ in items] == ["event", "stats"]
    stats = orjson.loads(items[1][1])
    assert stats["interval_start"] == 0.0
    # The event's own count goes into the next interval.
    assert stats["outcomes"] == [
        {
            "project_id": project_key.project_id,
            "category": "session",
            "outcome": "accepted",
            "reason": None,
            "quantity": 4,
        }
    ]


@hypothesis_settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.binary(max_size=2048),
    endpoint=st.sampled_from(["envelope", "store", "security"]),
    encoding=st.sampled_from(["", "gzip", "deflate", "br"]),
)
def test_it_answers_any_body_with_200_or_a_clean_4xx(
    wsgi_sdk, project_key, body, endpoint, encoding
):
    answer = wsgi_sdk.request(
        "POST",
        f"/api/{project_key.project_id}/{endpoint}/",
        body,
        {**auth_header(project_key.public_key), "Content-Encoding": encoding},
    )
    assert answer.status in (200, 400, 413)
    if answer.status != 200:
        assert answer.json()["detail"] == answer.headers["x-sentry-error"]


def test_it_answers_counted_items_without_the_queue(sdk, project_key, settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    # Due stats must not make a sessions-only envelope depend on the queue.
    STATS.add_outcome(project_key.project_id, "error", "accepted", now=0.0)
    body = envelope([({"type": "client_report"}, b'{"discarded_events":[]}')])
    answer = sdk.request(
        "POST", _envelope_url(project_key), body, auth_header(project_key.public_key)
    )
    assert answer.status == 200
    assert answer.json() == {}
