"""Release files through the API: upload one file, list them in a project
or the organization, read and delete one (Sentry's paths and shapes)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtrail.releases.models import Release
from fixtrail.symbols import storage
from fixtrail.symbols.models import Artifact
from tests.api.conftest import ApiClient, issue_token
from tests.symbols.bundles import FIXTURES, sha1

FILES = "/api/0/projects/acme/backend/releases/shop@1.0/files/"
ORG_FILES = "/api/0/organizations/acme/releases/shop@1.0/files/"


@pytest.fixture
def release(org, project) -> Release:
    release = Release.objects.create(organization=org, version="shop@1.0")
    release.projects.add(project)
    return release


@pytest.fixture
def api(alice) -> ApiClient:
    return ApiClient(issue_token(alice))


def _post(api: ApiClient, name: str, data: bytes, **fields) -> object:
    upload = SimpleUploadedFile(name.rsplit("/", 1)[-1], data)
    return api.post(FILES, {"file": upload, "name": name, **fields})


def test_it_stores_a_release_file(api, release):
    data = (FIXTURES / "app.js.map").read_bytes()
    response = _post(api, "~/static/app.js.map", data, dist="web")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "~/static/app.js.map"
    assert (body["dist"], body["size"], body["sha1"]) == ("web", len(data), sha1(data))
    artifact = Artifact.objects.get()
    assert (artifact.release, artifact.kind) == ("shop@1.0", "source_map")
    assert storage.read_file(artifact.checksum) == data


def test_it_keeps_headers_of_a_release_file(api, release):
    data = (FIXTURES / "app.js").read_bytes()
    response = _post(api, "~/app.js", data, header=["Sourcemap: app.js.map"])
    assert response.json()["headers"] == {"Sourcemap": "app.js.map"}


def test_it_refuses_a_map_that_does_not_parse(api, release):
    response = _post(api, "~/app.js.map", b"{nope")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "Source map ~/app.js.map does not parse"
    )
    assert Artifact.objects.count() == 0


def test_it_refuses_a_second_file_of_the_same_name(api, release):
    _post(api, "~/app.js", b"one")
    response = _post(api, "~/app.js", b"two")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A file named ~/app.js already exists in this release."
    }


def test_it_lists_release_files_in_the_project_and_organization(api, release):
    _post(api, "~/b.js", b"b")
    _post(api, "~/a.js", b"a")
    assert [f["name"] for f in api.get(FILES).json()] == ["~/a.js", "~/b.js"]
    assert [f["name"] for f in api.get(ORG_FILES).json()] == ["~/a.js", "~/b.js"]


def test_it_deletes_a_release_file_and_its_content(api, release):
    file_id = _post(api, "~/a.js", b"only here").json()["id"]
    assert api.get(f"{FILES}{file_id}/").json()["name"] == "~/a.js"
    assert api.delete(f"{FILES}{file_id}/").status_code == 204
    assert Artifact.objects.count() == 0
    assert list(storage.stored_files()) == []


def test_it_deletes_through_the_organization(api, release):
    file_id = _post(api, "~/a.js", b"a").json()["id"]
    assert api.delete(f"{ORG_FILES}{file_id}/").status_code == 204
    assert Artifact.objects.count() == 0


def test_it_answers_404_for_an_unknown_release(api, project):
    assert api.get(FILES).status_code == 404


def test_it_hides_release_files_from_outsiders(charlie, charlies_org, release):
    outsider = ApiClient(issue_token(charlie))
    assert outsider.get(FILES).status_code == 404
    assert outsider.get(ORG_FILES).status_code == 404


def test_it_lets_a_viewer_list_but_not_upload(vera, release):
    viewer = ApiClient(issue_token(vera))
    assert viewer.get(FILES).status_code == 200
    assert _post(viewer, "~/a.js", b"a").status_code == 403


def test_it_refuses_nul_in_a_release_file_name(api, release):
    response = _post(api, "~/a\x00.js", b"a")
    assert response.status_code == 400
    assert response.json() == {"detail": "Text cannot contain NUL characters."}
    assert Artifact.objects.count() == 0
