"""Sentry's user-feedback API: /api/0/projects/{org}/{project}/user-feedback/."""

from __future__ import annotations

import datetime as dt

from fixtrail.events.models import Event, UserReport
from tests.api.conftest import digest_events, python_error

FEEDBACK = "/api/0/projects/acme/backend/user-feedback/"
EVENT_ID = "0d0f2a6e4c3b4a19a9f6d1e2c3b4a596"


def _report(project, event_id: str, comments: str, minute: int) -> UserReport:
    return UserReport.objects.create(
        project=project,
        event_id=event_id,
        name="Ann",
        email="ann@example.org",
        comments=comments,
        created_at=dt.datetime(2026, 3, 2, 13, minute, tzinfo=dt.UTC),
    )


def test_it_lists_feedback_newest_first_in_sentrys_shape(project, alice_api):
    (event_id,) = digest_events(project, [python_error()])
    issue = Event.objects.get(event_id=event_id).issue
    older = _report(project, event_id, "It broke", 0)
    newer = _report(project, "e" * 32, "Still broken", 5)

    response = alice_api.get(FEEDBACK)

    assert response.status_code == 200
    first, second = response.json()
    assert first == {
        "id": str(newer.pk),
        "eventID": "e" * 32,
        "name": "Ann",
        "email": "ann@example.org",
        "comments": "Still broken",
        "dateCreated": "2026-03-02T13:05:00.000000Z",
        "user": None,
        "event": {"id": "e" * 32, "eventID": "e" * 32},
        "issue": None,
    }
    assert second["id"] == str(older.pk)
    assert second["issue"]["id"] == str(issue.pk)
    assert second["issue"]["shortId"] == "BACKEND-1"


def test_it_stores_posted_feedback(project, bob_api):
    response = bob_api.post_json(
        FEEDBACK,
        {
            "event_id": EVENT_ID,
            "name": "Bo",
            "email": "bo@example.org",
            "comments": "Crashed on save",
        },
    )

    assert response.status_code == 200
    body = response.json()
    report = UserReport.objects.get()
    assert body["id"] == str(report.pk)
    assert body["eventID"] == EVENT_ID
    assert (report.project_id, report.name, report.comments) == (
        project.pk,
        "Bo",
        "Crashed on save",
    )


def test_it_accepts_an_event_id_in_uuid_form(project, bob_api):
    uuid_form = "0d0f2a6e-4c3b-4a19-a9f6-d1e2c3b4a596"
    response = bob_api.post_json(
        FEEDBACK, {"event_id": uuid_form, "comments": "Crashed"}
    )
    assert response.status_code == 200
    assert UserReport.objects.get().event_id == EVENT_ID


def test_it_refuses_feedback_without_comments(project, bob_api):
    response = bob_api.post_json(FEEDBACK, {"event_id": EVENT_ID, "comments": " "})
    assert response.status_code == 400
    assert response.json() == {"comments": ["comments must not be empty"]}
    assert UserReport.objects.exists() is False


def test_it_refuses_a_malformed_event_id(project, bob_api):
    response = bob_api.post_json(FEEDBACK, {"event_id": "nope", "comments": "x"})
    assert response.status_code == 400
    assert response.json() == {"event_id": ["event_id must be a 32-digit hex event id"]}
    assert UserReport.objects.exists() is False


def test_it_refuses_a_non_string_field(project, bob_api):
    response = bob_api.post_json(FEEDBACK, {"event_id": EVENT_ID, "comments": 3})
    assert response.status_code == 400
    assert response.json() == {"comments": ["comments must be a string"]}


def test_it_does_not_let_viewers_post(project, vera_api):
    response = vera_api.post_json(FEEDBACK, {"event_id": EVENT_ID, "comments": "x"})
    assert response.status_code == 403
    assert UserReport.objects.exists() is False


def test_it_hides_other_organizations_feedback(project, charlie_api):
    _report(project, EVENT_ID, "It broke", 0)
    assert charlie_api.get(FEEDBACK).status_code == 404
    response = charlie_api.post_json(FEEDBACK, {"event_id": EVENT_ID, "comments": "x"})
    assert response.status_code == 404
    assert UserReport.objects.count() == 1
