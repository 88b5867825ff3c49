"""``/api/0/organizations/{org}/tags/`` and its values, from events the
real Python SDK sent."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient, issue_token
from tests.api.dashboard_data import make_dashboard
from tests.builders import make_project

TAGS = "/api/0/organizations/acme/tags/"


@pytest.fixture
def dashboard(org, project):
    return make_dashboard(project, make_project(org, "frontend"))


def test_it_lists_tag_keys_with_how_often_they_were_seen(alice_api, dashboard):
    response = alice_api.get(TAGS)
    assert response.status_code == 200
    keys = {row["key"]: row for row in response.json()}
    assert keys["release"] == {"key": "release", "name": "Release", "totalValues": 7}
    assert keys["environment"]["totalValues"] == 7
    assert keys["user"] == {"key": "user", "name": "User", "totalValues": 5}
    assert keys["server_name"]["name"] == "Server"
    assert list(keys) == sorted(keys)


def test_it_narrows_tags_to_projects(alice_api, dashboard):
    response = alice_api.get(TAGS, {"project": str(dashboard.frontend.pk)})
    keys = {row["key"]: row["totalValues"] for row in response.json()}
    assert keys["release"] == 1
    assert "user" not in keys


def test_it_narrows_tags_to_the_time_range(alice_api, dashboard):
    response = alice_api.get(
        TAGS, {"start": "2026-03-02T11:25:00", "end": "2026-03-02T12:00:00"}
    )
    # Release 1.0 was last seen at 11:20: only 1.1 (2) and 2.0 (1) remain.
    keys = {row["key"]: row["totalValues"] for row in response.json()}
    assert keys["release"] == 3
    empty = alice_api.get(
        TAGS, {"start": "2026-03-01T00:00:00", "end": "2026-03-01T12:00:00"}
    )
    assert empty.json() == []


def test_it_lists_a_tags_values_most_frequent_first(alice_api, dashboard):
    response = alice_api.get(TAGS + "release/values/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "key": "release",
            "name": "1.0",
            "value": "1.0",
            "count": 4,
            "firstSeen": "2026-03-02T10:05:00.000000Z",
            "lastSeen": "2026-03-02T11:20:00.000000Z",
        },
        {
            "key": "release",
            "name": "1.1",
            "value": "1.1",
            "count": 2,
            "firstSeen": "2026-03-02T10:50:00.000000Z",
            "lastSeen": "2026-03-02T11:50:00.000000Z",
        },
        {
            "key": "release",
            "name": "2.0",
            "value": "2.0",
            "count": 1,
            "firstSeen": "2026-03-02T11:30:00.000000Z",
            "lastSeen": "2026-03-02T11:30:00.000000Z",
        },
    ]
    assert 'rel="next"; results="false"' in response["Link"]


def test_it_finds_values_containing_the_query(alice_api, dashboard):
    response = alice_api.get(TAGS + "user/values/", {"query": "dana"})
    assert [row["value"] for row in response.json()] == ["email:dana@example.org"]


def test_it_pages_tag_values(alice_api, dashboard):
    first = alice_api.get(TAGS + "release/values/", {"per_page": "2"})
    assert [row["value"] for row in first.json()] == ["1.0", "1.1"]
    assert 'rel="next"; results="true"; cursor="0:2:0"' in first["Link"]


def test_it_answers_an_empty_list_for_an_unknown_tag(alice_api, dashboard):
    response = alice_api.get(TAGS + "browser/values/")
    assert response.status_code == 200
    assert response.json() == []


def test_it_does_not_show_other_organizations_tags(charlie_api, dashboard):
    assert charlie_api.get(TAGS).status_code == 404
    assert charlie_api.get(TAGS + "release/values/").status_code == 404
    assert charlie_api.get("/api/0/organizations/umbrella/tags/").json() == []


def test_it_needs_the_event_read_scope(alice, dashboard):
    api = ApiClient(issue_token(alice, ["org:read"]))
    response = api.get(TAGS)
    assert response.status_code == 403
    assert response.json()["detail"].endswith("the event:read scope.")
