"""Digest applies uploaded source maps and ProGuard mappings before
grouping: original frames by debug ID or by release + URL, raw frames
kept, and a notice when something was missing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.symbols.cache import parsed
from tests.api.conftest import ApiClient, digest_events, issue_token
from tests.symbols.bundles import (
    FIXTURES,
    chunk_files,
    js_error,
    make_bundle,
    sha1,
)
from tests.symbols.test_assemble import PROGUARD

CARD_DECLINED_LINE = next(
    i
    for i, line in enumerate(
        (FIXTURES.parent / "app" / "checkout.ts").read_text().splitlines(), 1
    )
    if "card declined" in line
)


@pytest.fixture
def api(alice, project) -> ApiClient:
    return ApiClient(issue_token(alice))


def _upload(api: ApiClient, data: bytes, **extra) -> None:
    chunks = chunk_files(data)
    files = [SimpleUploadedFile(n, b) for n, b in chunks]
    assert (
        api.post(
            "/api/0/organizations/acme/chunk-upload/", {"file_gzip": files}
        ).status_code
        == 200
    )
    body = {
        "checksum": sha1(data),
        "chunks": [n for n, _ in chunks],
        "projects": ["backend"],
        **extra,
    }
    answer = api.post_json(
        "/api/0/organizations/acme/artifactbundle/assemble/", body
    ).json()
    assert answer["state"] == "ok", answer


def _stored(event_id: str) -> dict:
    return Event.objects.get(event_id=event_id).get_data()


@pytest.mark.usefixtures("any_store")
def test_it_resolves_frames_through_the_debug_id(api, project):
    _upload(api, make_bundle())
    (event_id,) = digest_events(project, [js_error()])
    data = _stored(event_id)
    (frame,) = data["exception"]["values"][0]["stacktrace"]["frames"]
    assert frame["filename"] == "app/checkout.ts"
    assert frame["function"] == "chargeCard"
    assert frame["lineno"] == CARD_DECLINED_LINE
    assert "card declined" in frame["context_line"]
    (raw,) = data["exception"]["values"][0]["raw_stacktrace"]["frames"]
    assert raw["filename"] == "https://shop.example.com/static/app.js"
    assert "errors" not in data
    assert Issue.objects.get().culprit == "app/checkout.ts in chargeCard"


@pytest.mark.usefixtures("any_store")
def test_it_resolves_frames_through_release_and_url(api, project):
    bundle = make_bundle(attributes={"org": "acme"})
    _upload(api, bundle, version="shop@1.0")
    (event_id,) = digest_events(project, [js_error(debug_id=None, release="shop@1.0")])
    (frame,) = _stored(event_id)["exception"]["values"][0]["stacktrace"]["frames"]
    assert (frame["filename"], frame["function"]) == ("app/checkout.ts", "chargeCard")


def test_it_keeps_raw_frames_and_says_why_when_the_map_is_missing(project):
    (event_id,) = digest_events(project, [js_error()])
    data = _stored(event_id)
    (frame,) = data["exception"]["values"][0]["stacktrace"]["frames"]
    assert frame["filename"] == "https://shop.example.com/static/app.js"
    assert "raw_stacktrace" not in data["exception"]["values"][0]
    assert data["errors"] == [
        {
            "type": "js_no_source",
            "message": "No source map uploaded with debug ID "
            "928ac841-33bc-5efb-968e-cb9f0e6a8e63 "
            "(for https://shop.example.com/static/app.js).",
            "url": "https://shop.example.com/static/app.js",
            "debug_id": "928ac841-33bc-5efb-968e-cb9f0e6a8e63",
        }
    ]


def test_it_parses_a_map_once_for_a_batch(api, project):
    _upload(api, make_bundle())
    parsed.clear()
    digest_events(project, [js_error() for _ in range(5)])
    assert parsed.loads["sourcemap"] == 1
    assert parsed.loads["minified"] == 1
    # The four later events found the resolved position memoized.
    assert parsed.loads["position"] == 1
    assert parsed.hits == 4


def test_it_shows_original_frames_with_a_raw_toggle(api, project, alice_client):
    _upload(api, make_bundle())
    digest_events(project, [js_error()])
    issue = Issue.objects.get()
    page = alice_client.get(issue.get_absolute_url()).content.decode()
    assert "app/checkout.ts" in page
    assert "Show raw (minified) frames" in page
    raw_page = alice_client.get(issue.get_absolute_url() + "?raw=1").content.decode()
    assert "https://shop.example.com/static/app.js" in raw_page
    assert "Show original frames" in raw_page


def test_it_names_the_missing_map_on_the_issue_page(project, alice_client):
    digest_events(project, [js_error()])
    page = alice_client.get(Issue.objects.get().get_absolute_url()).content.decode()
    assert "Some frames could not be resolved to original source" in page
    assert "No source map uploaded with debug ID 928ac841" in page


def test_it_carries_raw_frames_and_errors_in_the_api(api, project):
    _upload(api, make_bundle())
    (event_id,) = digest_events(project, [js_error()])
    body = api.get(f"/api/0/projects/acme/backend/events/{event_id}/").json()
    (entry,) = [e for e in body["entries"] if e["type"] == "exception"]
    value = entry["data"]["values"][0]
    assert value["stacktrace"]["frames"][0]["function"] == "chargeCard"
    assert value["rawStacktrace"]["frames"][0]["function"] == "d"
    assert body["errors"] == []


@pytest.mark.usefixtures("any_store")
def test_it_deobfuscates_java_frames_with_proguard(api, project):
    chunks = chunk_files(PROGUARD)
    files = [SimpleUploadedFile(n, b) for n, b in chunks]
    api.post("/api/0/organizations/acme/chunk-upload/", {"file_gzip": files})
    checksum = sha1(PROGUARD)
    answer = api.post_json(
        "/api/0/projects/acme/backend/files/difs/assemble/",
        {checksum: {"name": "mapping.txt", "chunks": [n for n, _ in chunks]}},
    ).json()[checksum]
    uuid = answer["dif"]["debugId"]
    event = {
        "platform": "java",
        "debug_meta": {"images": [{"type": "proguard", "uuid": uuid}]},
        "exception": {
            "values": [
                {
                    "type": "b",
                    "module": "a",
                    "value": "declined",
                    "stacktrace": {
                        "frames": [{"module": "a.a", "function": "a", "lineno": 1}]
                    },
                }
            ]
        },
    }
    (event_id,) = digest_events(project, [event])
    value = _stored(event_id)["exception"]["values"][0]
    (frame,) = value["stacktrace"]["frames"]
    assert (frame["module"], frame["function"], frame["lineno"]) == (
        "com.example.shop.Checkout",
        "chargeCard",
        14,
    )
    assert (value["module"], value["type"]) == ("com.example.shop", "CardDeclined")
    assert value["raw_stacktrace"]["frames"][0]["module"] == "a.a"


def test_it_resolves_a_top_level_stacktrace_by_release(api, project):
    _upload(api, make_bundle(), version="shop@1.0")
    exception = js_error(debug_id=None)["exception"]["values"][0]
    event = {
        "platform": "javascript",
        "release": "shop@1.0",
        "message": "checkout failed",
        "stacktrace": exception["stacktrace"],
    }
    (event_id,) = digest_events(project, [event])
    data = _stored(event_id)
    (frame,) = data["stacktrace"]["frames"]
    assert (frame["filename"], frame["function"]) == ("app/checkout.ts", "chargeCard")
    assert data["raw_stacktrace"]["frames"][0]["function"] == "d"
