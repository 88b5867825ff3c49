"""Fixtrail's own API: issue lists, one issue, events, actions, comments
and saved searches."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.accounts.models import Team
from fixtrail.issues.models import Activity, Issue, Priority, SavedSearch, Status
from tests.api.conftest import NOW, T0, digest_events, python_error
from tests.builders import make_issue, make_project


@pytest.fixture
def issues(project, frozen_now):
    digest_events(project, [python_error(type_="KeyError")] * 2)
    digest_events(
        project,
        [python_error(type_="ValueError")],
        received_at=T0 - dt.timedelta(hours=1),
    )
    return {issue.type: issue for issue in Issue.objects.all()}


def test_it_lists_a_projects_issues_like_the_ui(alice_api, issues):
    response = alice_api.get("/api/v1/projects/acme/backend/issues")
    assert response.status_code == 200
    body = response.json()
    assert [item["type"] for item in body["items"]] == ["KeyError", "ValueError"]
    first = body["items"][0]
    assert first["short_id"] == f"BACKEND-{issues['KeyError'].short_id}"
    assert first["url"] == f"/issues/{issues['KeyError'].pk}/"
    assert (first["times_seen"], first["period_events"], first["period_users"]) == (
        2,
        2,
        1,
    )
    assert first["project"] == {
        "id": issues["KeyError"].project_id,
        "slug": "backend",
        "name": "Backend",
    }
    assert first["status"] == "unresolved"
    assert (body["next_cursor"], body["prev_cursor"]) == (None, None)


def test_it_pages_with_the_uis_cursors(alice_api, issues):
    first = alice_api.get("/api/v1/projects/acme/backend/issues", {"limit": 1}).json()
    assert [item["type"] for item in first["items"]] == ["KeyError"]
    second = alice_api.get(
        "/api/v1/projects/acme/backend/issues",
        {"limit": 1, "cursor": first["next_cursor"]},
    ).json()
    assert [item["type"] for item in second["items"]] == ["ValueError"]
    assert second["next_cursor"] is None


def test_it_sorts_ascending(alice_api, issues):
    body = alice_api.get(
        "/api/v1/organizations/acme/issues", {"sort": "freq", "dir": "asc"}
    ).json()
    assert [item["type"] for item in body["items"]] == ["ValueError", "KeyError"]


def test_it_refuses_a_bad_query(alice_api, issues):
    response = alice_api.get(
        "/api/v1/organizations/acme/issues", {"query": "is:sleeping"}
    )
    assert response.status_code == 400
    assert "sleeping" in response.json()["detail"]


def test_it_refuses_a_limit_out_of_range(alice_api, issues):
    response = alice_api.get("/api/v1/organizations/acme/issues", {"limit": 0})
    assert response.status_code == 400
    assert response.json() == {"detail": "limit must be between 1 and 100."}


def test_it_shows_one_issue_with_activity_and_tags(alice_api, issues):
    issue = issues["KeyError"]
    Activity.objects.create(
        issue=issue, kind=Activity.Kind.COMMENT, data={"text": "on it"}, created_at=NOW
    )
    body = alice_api.get(f"/api/v1/issues/{issue.pk}").json()
    assert body["id"] == issue.pk
    assert body["metadata"]["type"] == "KeyError"
    assert body["is_bookmarked"] is False
    assert [(a["kind"], a["data"]) for a in body["activity"]][0] == (
        "comment",
        {"text": "on it"},
    )
    level = next(tag for tag in body["tags"] if tag["key"] == "level")
    assert level["total"] == 2
    assert [v["value"] for v in level["values"]] == ["error"]
    assert body["links"] == []


def test_it_pages_an_issues_events_and_shows_one(alice_api, issues):
    issue = issues["KeyError"]
    page = alice_api.get(f"/api/v1/issues/{issue.pk}/events").json()
    assert len(page["items"]) == 2
    event_id = page["items"][0]["event_id"]
    event = alice_api.get(f"/api/v1/issues/{issue.pk}/events/{event_id}").json()
    assert event["event_id"] == event_id
    assert event["issue_id"] == issue.pk
    assert event["data"]["exception"]["values"][0]["type"] == "KeyError"
    latest = alice_api.get(f"/api/v1/issues/{issue.pk}/events/latest").json()
    assert latest["event_id"] in {item["event_id"] for item in page["items"]}


def test_it_answers_404_for_an_unknown_event(alice_api, issues):
    issue = issues["KeyError"]
    assert (
        alice_api.get(f"/api/v1/issues/{issue.pk}/events/{'f' * 32}").status_code == 404
    )
    assert alice_api.get(f"/api/v1/issues/{issue.pk}/events/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ({"action": "resolve"}, "status", Status.RESOLVED),
        (
            {"action": "resolve", "how": "in_release", "release": "2.0"},
            "resolved_in_release",
            "2.0",
        ),
        ({"action": "ignore", "ignore_count": 10}, "ignore_count", 10),
        ({"action": "priority", "priority": 75}, "priority", Priority.HIGH),
    ],
)
def test_it_runs_an_action_on_one_issue(alice_api, issues, body, field, expected):
    issue = issues["KeyError"]
    response = alice_api.post_json(f"/api/v1/issues/{issue.pk}/actions", body)
    assert response.status_code == 200
    assert response.json()["issue"]["id"] == issue.pk
    issue.refresh_from_db()
    assert getattr(issue, field) == expected


def test_it_answers_the_uis_message(alice_api, issues):
    issue = issues["KeyError"]
    response = alice_api.post_json(
        f"/api/v1/issues/{issue.pk}/actions", {"action": "resolve"}
    )
    assert response.json()["message"] == "Resolved 1 issue."
    assert response.json()["issue"]["status"] == "resolved"


def test_it_assigns_and_bookmarks(alice_api, alice, org, issues):
    issue = issues["KeyError"]
    team = Team.objects.create(organization=org, slug="core", name="Core")
    alice_api.post_json(
        f"/api/v1/issues/{issue.pk}/actions",
        {"action": "assign", "assignee": f"team:{team.pk}"},
    )
    alice_api.post_json(f"/api/v1/issues/{issue.pk}/actions", {"action": "bookmark"})
    issue.refresh_from_db()
    assert issue.assignee_team == team
    assert list(issue.bookmarked_by.all()) == [alice]


def test_it_refuses_an_invalid_action(alice_api, issues):
    issue = issues["KeyError"]
    body = {"action": "priority", "priority": 10}
    response = alice_api.post_json(f"/api/v1/issues/{issue.pk}/actions", body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Select a valid choice. 10 is not one of the available choices."
    }
    response = alice_api.post_json(
        f"/api/v1/issues/{issue.pk}/actions", {"action": "explode"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid value for action: ")


def test_it_merges_an_issue_with_others(alice_api, issues):
    survivor, other = issues["KeyError"], issues["ValueError"]
    body = {"action": "merge", "merge_with": [survivor.pk]}
    response = alice_api.post_json(f"/api/v1/issues/{other.pk}/actions", body)
    assert response.json()["issue"]["id"] == survivor.pk
    assert list(Issue.objects.values_list("pk", flat=True)) == [survivor.pk]


def test_it_deletes_an_issue_only_with_event_admin(alice, issues):
    from tests.api.conftest import ApiClient, issue_token

    issue = issues["KeyError"]
    writer = ApiClient(issue_token(alice, ["event:write"]))
    response = writer.post_json(
        f"/api/v1/issues/{issue.pk}/actions", {"action": "delete"}
    )
    assert response.status_code == 403
    admin = ApiClient(issue_token(alice, ["event:admin"]))
    response = admin.post_json(
        f"/api/v1/issues/{issue.pk}/actions", {"action": "delete"}
    )
    assert response.json() == {"message": "Deleted 1 issue.", "issue": None}
    assert not Issue.objects.filter(pk=issue.pk).exists()


def test_it_refuses_actions_from_viewers(vera_api, issues):
    issue = issues["KeyError"]
    response = vera_api.post_json(
        f"/api/v1/issues/{issue.pk}/actions", {"action": "resolve"}
    )
    assert response.status_code == 403
    issue.refresh_from_db()
    assert issue.status == Status.UNRESOLVED


def test_it_runs_a_bulk_action_on_ids(alice_api, issues):
    ids = [issue.pk for issue in issues.values()]
    response = alice_api.post_json(
        "/api/v1/organizations/acme/issues/bulk", {"action": "resolve", "ids": ids}
    )
    assert response.json() == {"message": "Resolved 2 issues.", "issue": None}
    assert set(Issue.objects.values_list("status", flat=True)) == {"resolved"}


def test_it_runs_a_bulk_action_on_every_matching_issue(alice_api, issues):
    body = {
        "action": "ignore",
        "all_matching": True,
        "query": "ValueError",
        "project": "backend",
    }
    alice_api.post_json("/api/v1/organizations/acme/issues/bulk", body)
    statuses = {issue.type: issue.status for issue in Issue.objects.all()}
    assert statuses == {"KeyError": "unresolved", "ValueError": "ignored"}


def test_it_leaves_other_organizations_out_of_bulk_actions(
    alice_api, issues, charlies_project
):
    theirs = make_issue(charlies_project)
    response = alice_api.post_json(
        "/api/v1/organizations/acme/issues/bulk",
        {"action": "resolve", "ids": [theirs.pk]},
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Select at least one issue."}
    theirs.refresh_from_db()
    assert theirs.status == Status.UNRESOLVED


def test_it_adds_and_lists_comments(alice_api, alice, issues):
    issue = issues["KeyError"]
    response = alice_api.post_json(
        f"/api/v1/issues/{issue.pk}/comments", {"text": "Looking into it"}
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "comment"
    assert response.json()["user"]["email"] == "alice@example.org"
    activity = alice_api.get(f"/api/v1/issues/{issue.pk}/activity").json()
    assert activity[0]["data"] == {"text": "Looking into it"}


def test_it_refuses_an_empty_comment(alice_api, issues):
    issue = issues["KeyError"]
    response = alice_api.post_json(f"/api/v1/issues/{issue.pk}/comments", {"text": ""})
    assert response.status_code == 400
    assert Activity.objects.filter(kind="comment").count() == 0


def test_it_saves_lists_and_deletes_searches(alice_api, bob_api, org, project):
    response = alice_api.post_json(
        "/api/v1/organizations/acme/searches",
        {
            "name": "Mine",
            "query": "is:unresolved level:error",
            "sort": "freq",
            "project": "backend",
        },
    )
    assert response.status_code == 201
    search = SavedSearch.objects.get()
    assert (search.owner.email, search.project, search.sort) == (
        "alice@example.org",
        project,
        "freq",
    )
    listed = alice_api.get(
        "/api/v1/organizations/acme/searches", {"project": "backend"}
    )
    assert [s["name"] for s in listed.json()] == ["Mine"]
    # Searches of a project are listed with that project only.
    assert alice_api.get("/api/v1/organizations/acme/searches").json() == []
    # Not shared: bob neither sees nor deletes it.
    assert (
        bob_api.get(
            "/api/v1/organizations/acme/searches", {"project": "backend"}
        ).json()
        == []
    )
    assert (
        bob_api.delete(f"/api/v1/organizations/acme/searches/{search.pk}").status_code
        == 404
    )
    assert (
        alice_api.delete(f"/api/v1/organizations/acme/searches/{search.pk}").status_code
        == 204
    )
    assert not SavedSearch.objects.exists()


def test_it_keeps_shared_searches_from_members_who_are_not_admins(
    alice_api, bob_api, org
):
    alice_api.post_json(
        "/api/v1/organizations/acme/searches", {"name": "Team", "is_shared": True}
    )
    search = SavedSearch.objects.get()
    response = bob_api.delete(f"/api/v1/organizations/acme/searches/{search.pk}")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only its owner or an admin can delete a shared search."
    }


def test_it_does_not_show_another_organizations_issue(alice_api, org, charlies_project):
    theirs = make_issue(charlies_project)
    assert alice_api.get(f"/api/v1/issues/{theirs.pk}").status_code == 404
    make_project(org, "frontend")
