"""The project's artifacts page, and artifact retention."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fixtrail.symbols import storage
from fixtrail.symbols.models import Artifact
from fixtrail.symbols.retention import enforce_artifact_retention
from tests.api.conftest import ApiClient, issue_token
from tests.symbols.bundles import chunk_files, make_bundle, sha1

PAGE = "/organizations/acme/projects/backend/artifacts/"


def _upload_bundle(user) -> None:
    api = ApiClient(issue_token(user))
    bundle = make_bundle()
    chunks = chunk_files(bundle)
    files = [SimpleUploadedFile(n, b) for n, b in chunks]
    api.post("/api/0/organizations/acme/chunk-upload/", {"file_gzip": files})
    body = {
        "checksum": sha1(bundle),
        "chunks": [n for n, _ in chunks],
        "projects": ["backend"],
    }
    assert (
        api.post_json(
            "/api/0/organizations/acme/artifactbundle/assemble/", body
        ).json()["state"]
        == "ok"
    )


def test_it_lists_artifacts_with_sizes(alice, project, alice_client):
    _upload_bundle(alice)
    page = alice_client.get(PAGE).content.decode()
    source_map = Artifact.objects.get(kind="source_map")
    assert "<code>~/app.js.map</code>" in page
    assert f'data-size="{source_map.size}"' in page
    assert "2 artifacts" in page


def test_it_hides_the_page_from_outsiders(client, charlie, project):
    client.force_login(charlie)
    assert client.get(PAGE).status_code == 404


def test_it_refuses_deletion_by_a_viewer(client, vera, alice, project):
    _upload_bundle(alice)
    client.force_login(vera)
    artifact = Artifact.objects.first()
    response = client.post(f"{PAGE}{artifact.pk}/delete/")
    assert response.status_code == 403
    assert Artifact.objects.count() == 2


def test_it_deletes_an_artifact_from_the_page(alice, project, alice_client):
    _upload_bundle(alice)
    artifact = Artifact.objects.get(kind="source_map")
    response = alice_client.post(f"{PAGE}{artifact.pk}/delete/")
    assert response.status_code == 302
    assert list(Artifact.objects.values_list("kind", flat=True)) == ["minified_source"]
    assert artifact.checksum not in set(storage.stored_files())


def test_it_removes_artifacts_no_event_used(alice, project, settings):
    settings.FIXTRAIL_ARTIFACT_RETENTION_DAYS = 30
    _upload_bundle(alice)
    used = Artifact.objects.get(kind="source_map")
    now = timezone.now()
    Artifact.objects.update(created_at=now - dt.timedelta(days=40))
    Artifact.objects.filter(pk=used.pk).update(last_used_at=now - dt.timedelta(days=1))
    removed = enforce_artifact_retention(now)
    assert removed["artifacts"] == 1
    assert removed["files"] == 1
    assert list(Artifact.objects.values_list("pk", flat=True)) == [used.pk]
    assert set(storage.stored_files()) == {used.checksum}
