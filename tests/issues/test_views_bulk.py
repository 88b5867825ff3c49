from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from fixtrail.accounts.models import Team
from fixtrail.issues.models import Activity, Issue
from tests.builders import make_issue, make_project

BULK = "/organizations/acme/issues/bulk/"
LIST = "/organizations/acme/projects/backend/"


@pytest.fixture
def member_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def three(project):
    return [make_issue(project, title=f"issue {n}") for n in range(3)]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _statuses() -> dict[str, str]:
    return dict(Issue.objects.values_list("title", "status"))


def test_it_resolves_the_ticked_issues(member_client, bob, three):
    response = member_client.post(
        BULK,
        {
            "action": "resolve",
            "how": "now",
            "issue": [three[0].pk, three[2].pk],
            "project": "backend",
            "next": LIST + "?sort=freq",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == LIST + "?sort=freq"
    assert _messages(response) == ["Resolved 2 issues."]
    assert _statuses() == {
        "issue 0": "resolved",
        "issue 1": "unresolved",
        "issue 2": "resolved",
    }
    activity = Activity.objects.get(issue=three[0])
    assert (activity.kind, activity.user, activity.data) == (
        "resolved",
        bob,
        {"how": "now"},
    )


def test_it_resolves_in_the_next_release(member_client, three):
    member_client.post(
        BULK, {"action": "resolve", "how": "next_release", "issue": three[0].pk}
    )
    three[0].refresh_from_db()
    assert three[0].status == "resolved"
    assert three[0].resolved_in_next_release is True


def test_it_ignores_for_a_while(member_client, three):
    before = timezone.now()
    member_client.post(
        BULK, {"action": "ignore", "ignore_minutes": "120", "issue": [three[1].pk]}
    )
    three[1].refresh_from_db()
    assert three[1].status == "ignored"
    assert before + dt.timedelta(minutes=119) < three[1].ignore_until
    assert three[1].ignore_until < timezone.now() + dt.timedelta(minutes=121)


def test_it_ignores_forever(member_client, three):
    member_client.post(
        BULK, {"action": "ignore", "ignore_minutes": "", "issue": [three[1].pk]}
    )
    three[1].refresh_from_db()
    assert three[1].status == "ignored"
    assert three[1].ignore_until is None
    assert three[1].ignore_count is None


def test_it_applies_to_all_issues_matching_the_search(member_client, project, three):
    make_issue(project, title="other thing")
    make_issue(
        project, title="stale issue", last_seen=timezone.now() - dt.timedelta(days=2)
    )
    response = member_client.post(
        BULK,
        {
            "action": "ignore",
            "all_matching": "1",
            "query": "is:unresolved issue",
            "period": "24h",
            "project": "backend",
        },
    )
    assert _messages(response) == ["Ignored 3 issues."]
    # Outside the period, so not on the list and not touched.
    assert _statuses() == {
        "issue 0": "ignored",
        "issue 1": "ignored",
        "issue 2": "ignored",
        "other thing": "unresolved",
        "stale issue": "unresolved",
    }


def test_it_limits_all_matching_to_the_project_of_the_list(member_client, org, three):
    other = make_project(org, "frontend")
    make_issue(other, title="issue in frontend")
    member_client.post(
        BULK,
        {"action": "resolve", "all_matching": "1", "query": "", "project": "backend"},
    )
    assert _statuses()["issue in frontend"] == "unresolved"
    assert _statuses()["issue 0"] == "resolved"


def test_it_reports_a_bad_query_for_all_matching(member_client, three):
    response = member_client.post(
        BULK, {"action": "resolve", "all_matching": "1", "query": "level:nope"}
    )
    assert response.status_code == 302
    assert _messages(response) == [
        'Unknown level "nope". Use one of: debug, info, warning, error, fatal.'
    ]
    assert set(_statuses().values()) == {"unresolved"}


def test_it_assigns_to_a_member_and_to_a_team(member_client, org, alice, three):
    team = Team.objects.create(organization=org, slug="web", name="Web")
    member_client.post(
        BULK,
        {"action": "assign", "assignee": f"user:{alice.pk}", "issue": [three[0].pk]},
    )
    member_client.post(
        BULK,
        {"action": "assign", "assignee": f"team:{team.pk}", "issue": [three[1].pk]},
    )
    three[0].refresh_from_db()
    three[1].refresh_from_db()
    assert three[0].assignee == alice
    assert three[1].assignee_team == team


def test_it_refuses_an_assignee_from_another_organization(
    member_client, charlie, charlies_org, three
):
    response = member_client.post(
        BULK,
        {"action": "assign", "assignee": f"user:{charlie.pk}", "issue": [three[0].pk]},
    )
    assert _messages(response) == ["Choose a member or a team of this organization."]
    three[0].refresh_from_db()
    assert three[0].assignee is None


def test_it_merges_the_ticked_issues(member_client, three):
    three[1].times_seen = 10
    three[1].save(update_fields=["times_seen"])
    response = member_client.post(
        BULK, {"action": "merge", "issue": [three[0].pk, three[1].pk]}
    )
    assert _messages(response) == ["Merged 2 issues into BACKEND-2."]
    assert sorted(_statuses()) == ["issue 1", "issue 2"]


def test_it_deletes_the_ticked_issues(member_client, three):
    response = member_client.post(BULK, {"action": "delete", "issue": [three[2].pk]})
    assert _messages(response) == ["Deleted 1 issue."]
    assert sorted(_statuses()) == ["issue 0", "issue 1"]


def test_it_asks_for_a_selection(member_client, three):
    response = member_client.post(BULK, {"action": "resolve"})
    assert _messages(response) == ["Select at least one issue."]
    assert set(_statuses().values()) == {"unresolved"}


def test_it_ignores_issues_of_other_organizations(
    member_client, charlies_project, three
):
    foreign = make_issue(charlies_project, title="not yours")
    member_client.post(BULK, {"action": "delete", "issue": [foreign.pk]})
    assert Issue.objects.filter(pk=foreign.pk).exists() is True


def test_it_does_not_redirect_off_site(member_client, three):
    response = member_client.post(
        BULK,
        {"action": "resolve", "issue": [three[0].pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == "/organizations/acme/"


def test_it_forbids_bulk_actions_to_viewers(client, vera, three):
    client.force_login(vera)
    response = client.post(BULK, {"action": "resolve", "issue": [three[0].pk]})
    assert response.status_code == 403
    assert set(_statuses().values()) == {"unresolved"}


def test_it_hides_bulk_actions_from_outsiders(client, charlie, charlies_org, three):
    client.force_login(charlie)
    response = client.post(BULK, {"action": "resolve", "issue": [three[0].pk]})
    assert response.status_code == 404
    assert set(_statuses().values()) == {"unresolved"}


def test_it_needs_the_csrf_token(bob, three):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = client.post(BULK, {"action": "resolve", "issue": [three[0].pk]})
    assert response.status_code == 403
    assert set(_statuses().values()) == {"unresolved"}


def test_it_answers_get_with_405(member_client, three):
    assert member_client.get(BULK).status_code == 405
