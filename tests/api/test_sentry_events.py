"""Events of an issue and of a project, and an issue's tags."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.issues.models import Issue
from tests.api.conftest import T0, digest_events, python_error
from tests.builders import make_issue

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def events(project):
    """Three events of one issue, a minute apart; returns their ids, oldest first."""
    ids = []
    for i, release in enumerate(("1.0", "1.1", "1.1")):
        ids += digest_events(
            project,
            [python_error(release=release, environment="production")],
            received_at=T0 + i * MINUTE,
        )
    return ids


@pytest.fixture
def issue(events):
    return Issue.objects.get()


def test_it_returns_the_latest_event(alice_api, issue, events):
    response = alice_api.get(f"/api/0/issues/{issue.pk}/events/latest/")
    assert response.status_code == 200
    body = response.json()
    assert body["eventID"] == events[2]
    assert body["id"] == events[2]
    assert body["groupID"] == str(issue.pk)
    assert body["projectID"] == str(issue.project_id)
    assert body["dateCreated"] == "2026-03-02T12:32:00.000000Z"
    assert body["dateReceived"] == "2026-03-02T12:32:00.000000Z"
    assert body["title"] == "ValueError: bad thing"
    assert body["culprit"] == issue.culprit
    assert body["previousEventID"] == events[1]
    assert body["nextEventID"] is None
    assert body["release"]["version"] == "1.1"
    assert body["release"]["firstEvent"] == "2026-03-02T12:31:00.000000Z"
    assert body["sdk"] == {"name": "sentry.python", "version": "2.75.0"}
    assert body["user"]["id"] == "42"
    assert body["context"] == {"cart_size": 3}
    assert body["contexts"]["runtime"] == {"name": "CPython", "version": "3.11.9"}
    assert {"key": "environment", "value": "production"} in body["tags"]
    assert {"key": "server_name", "value": "web-1"} in body["tags"]
    assert [entry["type"] for entry in body["entries"]] == [
        "exception",
        "breadcrumbs",
        "request",
    ]
    frames = body["entries"][0]["data"]["values"][0]["stacktrace"]["frames"]
    assert [(f["function"], f["lineNo"], f["inApp"]) for f in frames] == [
        ("_get_response", 197, False),
        ("index", 12, True),
    ]


def test_it_returns_the_oldest_event(alice_api, issue, events):
    body = alice_api.get(f"/api/0/issues/{issue.pk}/events/oldest/").json()
    assert (body["eventID"], body["previousEventID"], body["nextEventID"]) == (
        events[0],
        None,
        events[1],
    )


def test_it_returns_one_event_of_the_issue(alice_api, issue, events):
    body = alice_api.get(f"/api/0/issues/{issue.pk}/events/{events[1]}/").json()
    assert (body["previousEventID"], body["eventID"], body["nextEventID"]) == tuple(
        events
    )


def test_it_accepts_event_ids_in_uuid_form(alice_api, issue, events):
    event_id = events[0]
    parts = (
        event_id[:8],
        event_id[8:12],
        event_id[12:16],
        event_id[16:20],
        event_id[20:],
    )
    dashed = "-".join(parts)
    assert (
        alice_api.get(f"/api/0/issues/{issue.pk}/events/{dashed}/").json()["eventID"]
        == event_id
    )


def test_it_lists_an_issues_events_newest_first(alice_api, issue, events):
    response = alice_api.get(f"/api/0/issues/{issue.pk}/events/", {"per_page": "2"})
    body = response.json()
    assert [e["eventID"] for e in body] == [events[2], events[1]]
    assert body[0]["event.type"] == "error"
    assert body[0]["location"] == "app/views.py"
    assert "entries" not in body[0]
    assert 'rel="next"; results="true"; cursor="0:2:0"' in response["Link"]


def test_it_lists_whole_events_when_asked(alice_api, issue, events):
    body = alice_api.get(f"/api/0/issues/{issue.pk}/events/", {"full": "true"}).json()
    assert [e["entries"][0]["type"] for e in body] == ["exception"] * 3


def test_it_answers_404_for_an_issue_without_events(alice_api, project):
    issue = make_issue(project)
    response = alice_api.get(f"/api/0/issues/{issue.pk}/events/latest/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_returns_a_project_event_by_id(alice_api, issue, events):
    body = alice_api.get(f"/api/0/projects/acme/backend/events/{events[0]}/").json()
    assert (body["eventID"], body["groupID"]) == (events[0], str(issue.pk))


def test_it_answers_404_for_an_unknown_or_malformed_event_id(alice_api, issue):
    assert (
        alice_api.get(f"/api/0/projects/acme/backend/events/{'0' * 32}/").status_code
        == 404
    )
    assert alice_api.get("/api/0/projects/acme/backend/events/xyz/").status_code == 404


def test_it_lists_a_projects_events(alice_api, issue, events):
    body = alice_api.get("/api/0/projects/acme/backend/events/").json()
    assert [e["eventID"] for e in body] == list(reversed(events))


def test_it_lists_an_issues_tags_with_top_values(alice_api, issue, events):
    body = alice_api.get(f"/api/0/issues/{issue.pk}/tags/").json()
    release = next(tag for tag in body if tag["key"] == "release")
    assert release["name"] == "Release"
    assert release["totalValues"] == 3
    assert release["uniqueValues"] == 2
    assert [(v["value"], v["count"]) for v in release["topValues"]] == [
        ("1.1", 2),
        ("1.0", 1),
    ]
    assert release["topValues"][0]["firstSeen"] == "2026-03-02T12:31:00.000000Z"
    assert release["topValues"][0]["lastSeen"] == "2026-03-02T12:32:00.000000Z"


def test_it_shows_one_tag_and_pages_its_values(alice_api, issue, events):
    tag = alice_api.get(f"/api/0/issues/{issue.pk}/tags/release/").json()
    assert (tag["key"], tag["totalValues"]) == ("release", 3)
    response = alice_api.get(
        f"/api/0/issues/{issue.pk}/tags/release/values/", {"per_page": "1"}
    )
    assert response.json() == [
        {
            "key": "release",
            "name": "1.1",
            "value": "1.1",
            "count": 2,
            "firstSeen": "2026-03-02T12:31:00.000000Z",
            "lastSeen": "2026-03-02T12:32:00.000000Z",
        }
    ]
    assert 'rel="next"; results="true"' in response["Link"]


def test_it_answers_404_for_an_unknown_tag(alice_api, issue, events):
    assert (
        alice_api.get(f"/api/0/issues/{issue.pk}/tags/nope/values/").status_code == 404
    )
    assert alice_api.get(f"/api/0/issues/{issue.pk}/tags/nope/").status_code == 404


def test_it_shows_releases_activity_and_stats_on_the_issue(alice_api, issue, events):
    body = alice_api.get(f"/api/0/issues/{issue.pk}/").json()
    assert body["firstRelease"]["version"] == "1.0"
    assert body["firstRelease"]["shortVersion"] == "1.0"
    assert body["firstRelease"]["lastCommit"] is None
    assert body["lastRelease"]["version"] == "1.1"
    assert sorted(body["stats"]) == ["24h", "30d"]
    assert (len(body["stats"]["24h"]), len(body["stats"]["30d"])) == (24, 30)
    assert body["pluginIssues"] == []
    assert body["userReportCount"] == 0
    assert {
        "key": "release",
        "name": "Release",
        "totalValues": 3,
        "uniqueValues": 2,
    } in body["tags"]
