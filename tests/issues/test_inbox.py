"""The review inbox: what enters it, what takes issues out, and where it
shows (lists, search, the organization page, both APIs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fixtrail.issues import actions
from fixtrail.issues.models import Activity, Issue, Status
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_issue, make_project
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

LIST = "/organizations/acme/projects/backend/"
REVIEW = LIST + "?query=is%3Aunresolved+is%3Afor_review&sort=inbox&period=30d"


@pytest.fixture
def member_client(client, bob):
    client.force_login(bob)
    return client


def _reasons() -> dict[str, str]:
    return dict(Issue.objects.values_list("title", "inbox_reason"))


def test_it_puts_a_new_issue_from_digest_into_the_inbox(project):
    queue_payloads(project, [python_error()])
    result = digest_queued()
    issue = Issue.objects.get()
    assert result.issues_created == 1
    assert issue.inbox_reason == "new"
    assert issue.for_review is True


def test_it_puts_a_reviewed_issue_back_when_it_regresses(project, alice):
    queue_payloads(project, [python_error()], received_at=T0)
    digest_queued(T0 + dt.timedelta(minutes=1))
    issue = Issue.objects.get()
    actions.resolve_issues([issue], user=alice, how="now", now=T0 + dt.timedelta(1))
    issue.refresh_from_db()
    assert issue.inbox_reason == ""

    later = T0 + dt.timedelta(days=2)
    queue_payloads(project, [python_error()], received_at=later)
    result = digest_queued(later + dt.timedelta(minutes=1))
    issue.refresh_from_db()
    assert result.regressions == 1
    assert (issue.status, issue.inbox_reason) == ("unresolved", "regression")
    # The database clock stamps the re-entry, so it is after the resolve.
    assert issue.inbox_at > T0 + dt.timedelta(1)


def test_it_puts_an_issue_back_when_its_ignore_ends(project, alice):
    issue = make_issue(project, inbox_reason="")
    now = timezone.now()
    actions.ignore_issues(
        [issue], user=alice, now=now, until=now + dt.timedelta(minutes=5)
    )
    assert actions.escalate_expired_ignores(now + dt.timedelta(minutes=6)) == 1
    issue.refresh_from_db()
    assert (issue.substatus, issue.inbox_reason) == ("escalating", "escalating")


def test_it_marks_reviewed_when_someone_opens_the_issue(client, vera, project):
    issue = make_issue(project)
    client.force_login(vera)
    response = client.get(f"/issues/{issue.pk}/")
    issue.refresh_from_db()
    assert response.status_code == 200
    assert issue.inbox_reason == ""
    # Opening is not an action: nothing is written to the activity log.
    assert not Activity.objects.filter(issue=issue, kind="reviewed").exists()


@pytest.mark.parametrize(
    "act",
    [
        lambda i, u, now: actions.assign_issues([i], user=u, assignee=u, now=now),
        lambda i, u, now: actions.set_priority(i, "high", user=u, now=now),
        lambda i, u, now: actions.add_comment(i, user=u, text="looking", now=now),
        lambda i, u, now: actions.set_bookmark(i, u, True),
        lambda i, u, now: actions.ignore_issues([i], user=u, now=now),
    ],
    ids=["assign", "priority", "comment", "bookmark", "ignore"],
)
def test_it_marks_reviewed_on_any_action(project, bob, act):
    issue = make_issue(project)
    act(issue, bob, timezone.now())
    issue.refresh_from_db()
    assert issue.inbox_reason == ""


def test_it_keeps_the_inbox_when_the_system_acts(project):
    issue = make_issue(project, status=Status.IGNORED)
    actions.unresolve_issues([issue], user=None, now=timezone.now())
    issue.refresh_from_db()
    assert issue.inbox_reason == "new"


def test_it_marks_the_ticked_issues_reviewed_from_the_list(member_client, bob, project):
    first, second, third = (make_issue(project, title=f"i{n}") for n in range(3))
    response = member_client.post(
        "/organizations/acme/issues/bulk/",
        {
            "action": "review",
            "issue": [first.pk, third.pk],
            "project": "backend",
            "next": REVIEW,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == REVIEW
    assert _reasons() == {"i0": "", "i1": "new", "i2": ""}
    logged = Activity.objects.filter(kind="reviewed").order_by("issue_id")
    assert [(a.issue_id, a.user) for a in logged] == [(first.pk, bob), (third.pk, bob)]


def test_it_refuses_mark_reviewed_to_a_viewer(client, vera, project):
    issue = make_issue(project)
    client.force_login(vera)
    response = client.post(
        "/organizations/acme/issues/bulk/", {"action": "review", "issue": [issue.pk]}
    )
    issue.refresh_from_db()
    assert response.status_code == 403
    assert issue.inbox_reason == "new"


def test_it_lists_for_review_newest_first(member_client, project):
    now = timezone.now()
    make_issue(project, title="earlier", inbox_at=now - dt.timedelta(hours=2))
    make_issue(project, title="latest", inbox_at=now - dt.timedelta(hours=1))
    make_issue(project, title="reviewed", inbox_reason="")
    make_issue(project, title="resolved", status=Status.RESOLVED)
    response = member_client.get(REVIEW)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index(">latest</a>") < body.index(">earlier</a>")
    assert ">reviewed</a>" not in body and ">resolved</a>" not in body
    assert "For review (2)" in body


def test_it_searches_is_for_review_and_is_reviewed(member_client, project):
    make_issue(project, title="waiting one")
    make_issue(project, title="seen one", inbox_reason="")
    waiting = member_client.get(LIST, {"query": "is:for_review"}).content.decode()
    seen = member_client.get(LIST, {"query": "is:reviewed"}).content.decode()
    assert "waiting one" in waiting and "seen one" not in waiting
    assert "seen one" in seen and "waiting one" not in seen


def test_it_counts_what_waits_per_project_on_the_organization_page(
    member_client, org, project
):
    frontend = make_project(org, "frontend")
    make_issue(project)
    make_issue(project)
    make_issue(project, inbox_reason="")
    make_issue(frontend)
    old = timezone.now() - dt.timedelta(days=40)
    # Quiet for longer than the tab's period: not counted, as not listed.
    make_issue(frontend, first_seen=old, last_seen=old)
    response = member_client.get("/organizations/acme/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-review-count="backend">2</a>' in body
    assert 'data-review-count="frontend">1</a>' in body
    assert "For review: 3" in body


def test_it_hides_the_counts_from_outsiders(client, charlie, charlies_org, project):
    client.force_login(charlie)
    assert client.get("/organizations/acme/").status_code == 404


def test_it_shows_sentrys_inbox_field_in_the_issue_list(alice, project):
    issue = make_issue(project)
    make_issue(project, inbox_reason="")
    api = ApiClient(issue_token(alice))
    response = api.get(
        "/api/0/projects/acme/backend/issues/",
        {"query": "is:for_review", "expand": "inbox"},
    )
    assert response.status_code == 200
    (payload,) = response.json()
    assert payload["id"] == str(issue.pk)
    assert payload["inbox"] == {
        "reason": 0,
        "reason_details": None,
        "date_added": issue.inbox_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def test_it_marks_reviewed_through_sentrys_bulk_update(alice, project):
    first = make_issue(project, title="a")
    make_issue(project, title="b")
    api = ApiClient(issue_token(alice))
    response = api.put_json(
        f"/api/0/organizations/acme/issues/?id={first.pk}", {"inbox": False}
    )
    assert response.status_code == 200
    assert response.json() == {"inbox": False}
    assert _reasons() == {"a": "", "b": "new"}


def test_it_puts_issues_back_for_review_through_sentrys_api(alice, project):
    issue = make_issue(project, inbox_reason="")
    api = ApiClient(issue_token(alice))
    response = api.put_json(f"/api/0/issues/{issue.pk}/", {"inbox": True})
    issue.refresh_from_db()
    assert response.status_code == 200
    assert issue.inbox_reason == "manual"


def test_it_rejects_a_non_boolean_inbox(alice, project):
    issue = make_issue(project)
    api = ApiClient(issue_token(alice))
    response = api.put_json(f"/api/0/issues/{issue.pk}/", {"inbox": "no"})
    issue.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"detail": "inbox must be true or false."}
    assert issue.inbox_reason == "new"


def test_it_marks_reviewed_through_the_v1_api(alice, project):
    issue = make_issue(project)
    api = ApiClient(issue_token(alice))
    response = api.post_json(f"/api/v1/issues/{issue.pk}/actions", {"action": "review"})
    issue.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["message"] == "Marked 1 issue reviewed."
    assert response.json()["issue"]["inbox_reason"] == ""
    assert issue.inbox_reason == ""
