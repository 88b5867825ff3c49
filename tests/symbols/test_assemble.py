"""sentry-cli's upload protocol through the API: chunk options, chunk
uploads, assembling artifact bundles and ProGuard mappings, and every bad
upload ending in a clear error state with nothing stored."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fixtrail.symbols.models import Artifact, Upload
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_project
from tests.symbols.bundles import FIXTURE_DEBUG_ID, chunk_files, make_bundle, sha1

CHUNKS = "/api/0/organizations/acme/chunk-upload/"
ASSEMBLE = "/api/0/organizations/acme/artifactbundle/assemble/"
DIFS = "/api/0/projects/acme/backend/files/difs/assemble/"

PROGUARD = b"""\
com.example.shop.Checkout -> a.a:
    void chargeCard(java.lang.String) -> a
    1:1:void chargeCard(java.lang.String):14:14 -> a
com.example.shop.CardDeclined -> a.b:
"""


@pytest.fixture
def alice_api(alice, project) -> ApiClient:
    return ApiClient(issue_token(alice, ["project:releases"]))


def _upload_chunks(api: ApiClient, data: bytes, size: int = 1024) -> list[str]:
    chunks = chunk_files(data, size)
    files = [SimpleUploadedFile(name, body) for name, body in chunks]
    response = api.post(CHUNKS, {"file_gzip": files})
    assert response.status_code == 200, response.content
    return [name for name, _ in chunks]


def _assemble(api: ApiClient, data: bytes, chunks: list[str], **extra) -> dict:
    body = {"checksum": sha1(data), "chunks": chunks, "projects": ["backend"], **extra}
    response = api.post_json(ASSEMBLE, body)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_tells_sentry_cli_how_to_upload(alice_api):
    body = alice_api.get(CHUNKS).json()
    assert body["url"] == "http://testserver/api/0/organizations/acme/chunk-upload/"
    assert body["chunkSize"] == 8 * 1024 * 1024
    assert body["hashAlgorithm"] == "sha1"
    assert body["compression"] == ["gzip"]
    assert "artifact_bundles" in body["accept"] and "proguard" in body["accept"]


def test_it_hides_the_organization_from_outsiders(charlie, charlies_org, org):
    api = ApiClient(issue_token(charlie, ["project:releases"]))
    assert api.get(CHUNKS).status_code == 404


def test_it_refuses_a_chunk_that_does_not_match_its_name(alice_api, project):
    bad = SimpleUploadedFile("0" * 40, gzip.compress(b"hello"))
    response = alice_api.post(CHUNKS, {"file_gzip": [bad]})
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"chunk {'0' * 40} does not match its checksum"
    }


def test_it_asks_for_missing_chunks_then_assembles(alice_api, project):
    bundle = make_bundle()
    chunks = [name for name, _ in chunk_files(bundle)]
    first = _assemble(alice_api, bundle, chunks)
    assert first["state"] == "not_found"
    assert first["missingChunks"] == chunks
    _upload_chunks(alice_api, bundle)
    done = _assemble(alice_api, bundle, chunks)
    assert done == {"state": "ok", "missingChunks": [], "detail": None}
    rows = Artifact.objects.filter(project=project).order_by("url")
    assert [(a.url, a.kind, a.debug_id) for a in rows] == [
        ("~/app.js", "minified_source", FIXTURE_DEBUG_ID),
        ("~/app.js.map", "source_map", FIXTURE_DEBUG_ID),
    ]
    # Polling again answers the same, and stores nothing twice.
    assert _assemble(alice_api, bundle, chunks)["state"] == "ok"
    assert Artifact.objects.count() == 2


def test_it_indexes_a_bundle_uploaded_with_a_release(alice_api, project):
    bundle = make_bundle()
    chunks = _upload_chunks(alice_api, bundle)
    _assemble(alice_api, bundle, chunks, version="shop@1.0", dist="web")
    assert set(Artifact.objects.values_list("release", "dist")) == {("shop@1.0", "web")}


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (
            lambda: b"not a zip at all",
            "Not an artifact bundle: expected a zip with a manifest.json.",
        ),
        (
            lambda: make_bundle({"~/a.js.map": ("source_map", b"{nope", {})}),
            "Source map ~/a.js.map does not parse: bad json",
        ),
    ],
    ids=["not-a-bundle", "bad-map"],
)
def test_it_records_a_bad_bundle_as_an_error(alice_api, project, make, detail):
    data = make()
    chunks = _upload_chunks(alice_api, data)
    answer = _assemble(alice_api, data, chunks)
    assert answer["state"] == "error"
    assert answer["detail"].startswith(detail)
    assert Artifact.objects.count() == 0
    assert Upload.objects.get().state == "error"


def test_it_refuses_chunks_that_do_not_make_the_file(alice_api, project):
    bundle = make_bundle()
    chunks = _upload_chunks(alice_api, bundle)
    answer = _assemble(alice_api, bundle, chunks[:-1])
    assert answer["state"] == "error"
    assert answer["detail"] == "Checksum mismatch: the chunks do not make this file."
    assert Artifact.objects.count() == 0


def test_it_refuses_an_oversized_file(alice_api, project, settings):
    settings.FIXTRAIL_MAX_ARTIFACT_BYTES = 1000
    bundle = make_bundle()
    chunks = _upload_chunks(alice_api, bundle)
    answer = _assemble(alice_api, bundle, chunks)
    assert answer["state"] == "error"
    assert answer["detail"] == "File too large: the limit is 1000 bytes."
    assert Artifact.objects.count() == 0


def test_it_assembles_a_proguard_mapping(alice_api, project):
    chunks = _upload_chunks(alice_api, PROGUARD)
    checksum = sha1(PROGUARD)
    body = {checksum: {"name": "mapping.txt", "debug_id": None, "chunks": chunks}}
    answer = alice_api.post_json(DIFS, body).json()[checksum]
    assert answer["state"] == "ok"
    artifact = Artifact.objects.get(kind="proguard")
    assert answer["dif"]["debugId"] == artifact.debug_id
    assert answer["dif"]["objectName"] == "mapping.txt"


def test_it_refuses_a_debug_file_that_is_not_proguard(alice_api, project):
    data = b"\x7fELF not a mapping"
    chunks = _upload_chunks(alice_api, data)
    checksum = sha1(data)
    body = {checksum: {"name": "lib.so", "chunks": chunks}}
    answer = alice_api.post_json(DIFS, body).json()[checksum]
    assert answer["state"] == "error"
    assert answer["detail"] == "Not a ProGuard mapping: no class mapping lines."
    assert answer["dif"] is None
    assert Artifact.objects.count() == 0


def test_it_refuses_uploads_from_a_viewer(vera, project):
    api = ApiClient(issue_token(vera, ["project:releases"]))
    chunk, body = chunk_files(b"data")[0]
    response = api.post(CHUNKS, {"file_gzip": [SimpleUploadedFile(chunk, body)]})
    assert response.status_code == 403
    assert (
        api.post_json(ASSEMBLE, {"checksum": chunk, "chunks": [chunk]}).status_code
        == 403
    )


def test_it_refuses_a_token_without_a_release_scope(alice, project):
    api = ApiClient(issue_token(alice, ["event:read"]))
    assert api.get(CHUNKS).status_code == 403


def test_it_assembles_afresh_once_an_old_error_has_expired(alice_api, org, project):
    bundle = make_bundle()
    chunks = _upload_chunks(alice_api, bundle)
    body = {"checksum": sha1(bundle), "chunks": chunks, "projects": ["frontend"]}
    answer = alice_api.post_json(ASSEMBLE, body).json()
    assert (answer["state"], answer["detail"]) == ("error", "Unknown project: frontend")
    Upload.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    make_project(org, "frontend")
    assert alice_api.post_json(ASSEMBLE, body).json()["state"] == "ok"
    assert Upload.objects.get().state == "ok"
