"""Changing issues: PUT and DELETE on one issue and in bulk."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.accounts.models import Team
from fixtrail.issues.models import Activity, Issue, Priority, Status, TagValue
from tests.api.conftest import NOW
from tests.builders import make_issue, make_project


@pytest.fixture
def issue(project):
    return make_issue(project)


def url(issue: Issue) -> str:
    return f"/api/0/issues/{issue.pk}/"


def test_it_resolves_an_issue(alice_api, alice, issue):
    response = alice_api.put_json(url(issue), {"status": "resolved"})
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["statusDetails"] == {}
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED
    activity = Activity.objects.get(issue=issue)
    assert (activity.kind, activity.user, activity.data) == (
        "resolved",
        alice,
        {"how": "now"},
    )


def test_it_resolves_in_the_next_release(alice_api, issue):
    response = alice_api.put_json(url(issue), {"status": "resolvedInNextRelease"})
    details = response.json()["statusDetails"]
    assert details["inNextRelease"] is True
    assert details["actor"]["email"] == "alice@example.org"
    issue.refresh_from_db()
    assert issue.resolved_in_next_release is True


def test_it_resolves_in_a_release(alice_api, issue):
    body = {"status": "resolved", "statusDetails": {"inRelease": "2.0.1"}}
    response = alice_api.put_json(url(issue), body)
    assert response.json()["statusDetails"]["inRelease"] == "2.0.1"
    issue.refresh_from_db()
    assert issue.resolved_in_release == "2.0.1"


def test_it_resolves_in_the_latest_release(alice_api, issue):
    for version, hours in (("1.0", 5), ("1.1", 1)):
        seen = NOW - dt.timedelta(hours=hours)
        TagValue.objects.create(
            issue=issue,
            key="release",
            value=version,
            times_seen=1,
            first_seen=seen,
            last_seen=seen,
        )
    alice_api.put_json(
        url(issue), {"status": "resolved", "statusDetails": {"inRelease": "latest"}}
    )
    issue.refresh_from_db()
    assert issue.resolved_in_release == "1.1"


def test_it_refuses_the_latest_release_without_releases(alice_api, issue):
    body = {"status": "resolved", "statusDetails": {"inRelease": "latest"}}
    response = alice_api.put_json(url(issue), body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "No release data present in the system "
        "to resolve in the latest release."
    }
    issue.refresh_from_db()
    assert issue.status == Status.UNRESOLVED


def test_it_resolves_in_a_commit(alice_api, issue):
    body = {
        "status": "resolved",
        "statusDetails": {"inCommit": {"commit": "abc123", "repository": "shop"}},
    }
    response = alice_api.put_json(url(issue), body)
    assert response.json()["statusDetails"]["inCommit"] == {"id": "abc123"}
    issue.refresh_from_db()
    assert issue.resolved_in_commit == "abc123"


def test_it_ignores_for_a_while(alice_api, issue, frozen_now):
    body = {"status": "ignored", "statusDetails": {"ignoreDuration": 30}}
    response = alice_api.put_json(url(issue), body)
    assert response.json()["status"] == "ignored"
    assert (
        response.json()["statusDetails"]["ignoreUntil"] == "2026-03-02T13:45:00.000000Z"
    )
    issue.refresh_from_db()
    assert issue.ignore_until == NOW + dt.timedelta(minutes=30)


def test_it_ignores_until_more_events(alice_api, issue):
    details = {"ignoreCount": 100, "ignoreWindow": 60, "ignoreUserCount": 10}
    response = alice_api.put_json(
        url(issue), {"status": "ignored", "statusDetails": details}
    )
    assert response.json()["statusDetails"] == {
        "ignoreCount": 100,
        "ignoreUntil": None,
        "ignoreUserCount": 10,
        "ignoreUserWindow": None,
        "ignoreWindow": 60,
        "actor": response.json()["statusDetails"]["actor"],
    }
    issue.refresh_from_db()
    assert (issue.ignore_count, issue.ignore_window, issue.ignore_user_count) == (
        100,
        60,
        10,
    )


def test_it_mutes_forever_as_sentry_cli_asks(alice_api, issue):
    response = alice_api.put_json(
        url(issue), {"status": "muted", "snoozeDuration": None}
    )
    assert response.json()["status"] == "ignored"
    assert response.json()["statusDetails"] == {}
    issue.refresh_from_db()
    assert (issue.status, issue.ignore_until) == (Status.IGNORED, None)


def test_it_refuses_an_ignore_condition_the_workflow_rejects(alice_api, issue):
    body = {"status": "ignored", "statusDetails": {"ignoreWindow": 60}}
    response = alice_api.put_json(url(issue), body)
    assert response.status_code == 400
    assert response.json() == {"detail": "A window needs a number of events."}


def test_it_unresolves(alice_api, issue):
    issue.status = Status.RESOLVED
    issue.save(update_fields=["status"])
    response = alice_api.put_json(url(issue), {"status": "unresolved"})
    assert response.json()["status"] == "unresolved"
    issue.refresh_from_db()
    assert issue.status == Status.UNRESOLVED


def test_it_refuses_an_unknown_status(alice_api, issue):
    response = alice_api.put_json(url(issue), {"status": "sleeping"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid status: use one of resolved, resolvedInNextRelease, "
        "unresolved, ignored, muted."
    }


def test_it_refuses_a_body_that_changes_nothing(alice_api, issue):
    response = alice_api.put_json(url(issue), {"colour": "red"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Nothing to change: send one of ")


def test_it_refuses_a_body_that_is_not_json(alice_api, issue):
    response = alice_api.put(url(issue), b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The body is not valid JSON."}


def test_it_assigns_to_a_member_by_email_and_by_id(alice_api, bob, issue):
    response = alice_api.put_json(url(issue), {"assignedTo": "bob@example.org"})
    assert response.json()["assignedTo"] == {
        "type": "user",
        "id": str(bob.pk),
        "name": "bob@example.org",
        "email": "bob@example.org",
    }
    alice_api.put_json(url(issue), {"assignedTo": None})
    issue.refresh_from_db()
    assert issue.assignee is None
    alice_api.put_json(url(issue), {"assignedTo": f"user:{bob.pk}"})
    issue.refresh_from_db()
    assert issue.assignee == bob


def test_it_assigns_to_a_team(alice_api, org, issue):
    team = Team.objects.create(organization=org, slug="core", name="Core")
    response = alice_api.put_json(url(issue), {"assignedTo": f"team:{team.pk}"})
    assert response.json()["assignedTo"] == {
        "type": "team",
        "id": str(team.pk),
        "name": "core",
    }


def test_it_refuses_to_assign_an_outsider(alice_api, charlie, issue):
    response = alice_api.put_json(url(issue), {"assignedTo": "charlie@example.org"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown actor input"}
    issue.refresh_from_db()
    assert issue.assignee is None


def test_it_sets_personal_marks(alice_api, alice, issue):
    response = alice_api.put_json(url(issue), {"hasSeen": True, "isBookmarked": True})
    assert (response.json()["hasSeen"], response.json()["isBookmarked"]) == (True, True)
    assert list(issue.bookmarked_by.all()) == [alice]
    alice_api.put_json(url(issue), {"hasSeen": False, "isBookmarked": False})
    assert (issue.seen_by.count(), issue.bookmarked_by.count()) == (0, 0)


def test_it_lets_viewers_set_personal_marks_but_not_triage(vera_api, vera, issue):
    assert vera_api.put_json(url(issue), {"isBookmarked": True}).status_code == 200
    assert list(issue.bookmarked_by.all()) == [vera]
    response = vera_api.put_json(url(issue), {"status": "resolved"})
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the member role or higher."}
    issue.refresh_from_db()
    assert issue.status == Status.UNRESOLVED


def test_it_sets_the_priority(alice_api, issue):
    response = alice_api.put_json(url(issue), {"priority": "high"})
    assert response.json()["priority"] == "high"
    issue.refresh_from_db()
    assert issue.priority == Priority.HIGH


def test_it_deletes_an_issue(alice_api, issue):
    response = alice_api.delete(url(issue))
    assert response.status_code == 202
    assert response.content == b""
    assert not Issue.objects.filter(pk=issue.pk).exists()


def test_it_lets_members_but_not_viewers_delete(bob_api, vera_api, issue):
    assert vera_api.delete(url(issue)).status_code == 403
    assert bob_api.delete(url(issue)).status_code == 202


def test_it_finds_an_issue_by_short_id_in_an_organization(alice_api, issue):
    response = alice_api.get(
        f"/api/0/organizations/acme/issues/BACKEND-{issue.short_id}/"
    )
    assert response.status_code == 200
    assert response.json()["id"] == str(issue.pk)


def test_it_hides_an_issue_behind_the_wrong_organization(
    alice_api, issue, charlies_org
):
    assert (
        alice_api.get(f"/api/0/organizations/umbrella/issues/{issue.pk}/").status_code
        == 404
    )


# Bulk changes ---------------------------------------------------------------

BULK = "/api/0/projects/acme/backend/issues/"


def test_it_resolves_issues_named_by_id(alice_api, project):
    first, second, third = (make_issue(project) for _ in range(3))
    response = alice_api.put_json(
        f"{BULK}?id={first.pk}&id={second.pk}", {"status": "resolved"}
    )
    assert response.status_code == 200
    assert response.json() == {"status": "resolved", "statusDetails": {}}
    statuses = dict(Issue.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: "resolved",
        second.pk: "resolved",
        third.pk: "unresolved",
    }


def test_it_changes_issues_of_a_status(alice_api, project):
    resolved = make_issue(project, status=Status.RESOLVED)
    open_ = make_issue(project)
    alice_api.put_json(f"{BULK}?status=resolved", {"status": "unresolved"})
    resolved.refresh_from_db()
    assert resolved.status == Status.UNRESOLVED
    # The open issue was not selected: no "unresolved" activity for it.
    assert not Activity.objects.filter(issue=open_).exists()


def test_it_changes_issues_matching_a_query(alice_api, project):
    matching = make_issue(project, title="KeyError: 'sku'", type="KeyError")
    other = make_issue(project)
    alice_api.put_json(f"{BULK}?query=KeyError", {"status": "ignored"})
    matching.refresh_from_db()
    other.refresh_from_db()
    assert (matching.status, other.status) == (Status.IGNORED, Status.UNRESOLVED)


def test_it_leaves_out_ids_of_other_projects(alice_api, org, project):
    elsewhere = make_issue(make_project(org, "frontend"))
    response = alice_api.put_json(f"{BULK}?id={elsewhere.pk}", {"status": "resolved"})
    assert response.status_code == 204
    elsewhere.refresh_from_db()
    assert elsewhere.status == Status.UNRESOLVED


def test_it_merges_issues(alice_api, project):
    big = make_issue(project, times_seen=10)
    small = make_issue(project, times_seen=1)
    response = alice_api.put_json(f"{BULK}?id={big.pk}&id={small.pk}", {"merge": True})
    assert response.json() == {
        "merge": {"parent": str(big.pk), "children": [str(small.pk)]}
    }
    assert list(Issue.objects.values_list("pk", flat=True)) == [big.pk]


def test_it_deletes_issues_in_bulk(alice_api, project):
    doomed, kept = make_issue(project), make_issue(project)
    response = alice_api.delete(f"{BULK}?id={doomed.pk}")
    assert response.status_code == 204
    assert list(Issue.objects.values_list("pk", flat=True)) == [kept.pk]


def test_it_refuses_junk_ids(alice_api, project):
    response = alice_api.put_json(f"{BULK}?id=abc", {"status": "resolved"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid id parameter: ids are numbers."}


def test_it_refuses_ids_beyond_64_bits(alice_api, project):
    issue = make_issue(project)
    response = alice_api.delete(f"{BULK}?id={2**63}")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid id parameter: ids are numbers."}
    assert list(Issue.objects.values_list("pk", flat=True)) == [issue.pk]


def test_it_changes_issues_of_an_organization_in_bulk(alice_api, org, project):
    here = make_issue(project)
    there = make_issue(make_project(org, "frontend"))
    url_ = f"/api/0/organizations/acme/issues/?id={here.pk}&id={there.pk}"
    assert alice_api.put_json(url_, {"isBookmarked": True}).json() == {
        "isBookmarked": True
    }
    assert Issue.objects.filter(bookmarked_by__isnull=False).count() == 2


def test_it_refuses_viewers_even_when_nothing_matches(vera_api, project):
    response = vera_api.put_json(f"{BULK}?id=999", {"status": "resolved"})
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the member role or higher."}
