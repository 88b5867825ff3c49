"""Ingest accepts an imported key under its old project id, and only it."""

from __future__ import annotations

from fixtrail.adoption.models import ImportedKey
from tests.ingest.conftest import auth_header, event_envelope, queued_of_type

EVENT_ID = "0123456789abcdef0123456789abcdef"
OLD_PROJECT_ID = 4242


def _post(sdk, project_id: int, public_key: str):
    return sdk.request(
        "POST",
        f"/api/{project_id}/envelope/",
        event_envelope(EVENT_ID, {"event_id": EVENT_ID, "message": "hello"}),
        auth_header(public_key),
    )


def test_it_accepts_the_old_project_id_of_an_imported_key(sdk, project_key):
    ImportedKey.objects.create(key=project_key, source_project_id=OLD_PROJECT_ID)

    answer = _post(sdk, OLD_PROJECT_ID, project_key.public_key)

    assert answer.status == 200
    [(header, _)] = queued_of_type("event")
    # The event is the imported project's, whatever id the DSN names.
    assert header["project_id"] == project_key.project_id


def test_it_still_accepts_the_new_project_id(sdk, project_key):
    ImportedKey.objects.create(key=project_key, source_project_id=OLD_PROJECT_ID)

    assert _post(sdk, project_key.project_id, project_key.public_key).status == 200


def test_it_refuses_another_project_id(sdk, project_key):
    ImportedKey.objects.create(key=project_key, source_project_id=OLD_PROJECT_ID)

    answer = _post(sdk, OLD_PROJECT_ID + 1, project_key.public_key)

    assert answer.status == 404
    assert queued_of_type("event") == []


def test_it_refuses_the_old_id_for_a_key_that_was_not_imported(sdk, project_key):
    assert _post(sdk, OLD_PROJECT_ID, project_key.public_key).status == 404
