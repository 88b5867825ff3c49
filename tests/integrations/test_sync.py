"""Fixtrail's resolutions and regressions reach the linked tickets; rules
file tickets for new issues; polls catch missed webhooks."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fixtrail.integrations.jira.client import document_text
from fixtrail.integrations.models import AutoTicketRule, ExternalIssueLink
from fixtrail.integrations.sync import follow_activity, poll_links
from fixtrail.integrations.tickets import draft_ticket, request_ticket
from fixtrail.issues.actions import resolve_issues
from fixtrail.issues.models import Activity
from fixtrail.jobs.runner import run_until_idle
from tests.builders import make_issue


@pytest.fixture
def issue(project):
    return make_issue(project)


def _file(issue, integration):
    draft = draft_ticket(issue, integration)
    request_ticket(issue, integration, key="k", user=None, draft=draft)
    run_until_idle()
    return ExternalIssueLink.objects.get(issue=issue, integration=integration)


def test_it_closes_the_ticket_with_a_comment_when_the_issue_is_resolved(
    issue, alice, gitlab, gitlab_integration
):
    link = _file(issue, gitlab_integration)
    resolve_issues([issue], user=alice, how="now", now=timezone.now())
    assert follow_activity(timezone.now()) == 1
    run_until_idle()
    assert gitlab.issues[1]["state"] == "closed"
    assert gitlab.comments[1] == [
        f"Resolved in Fixtrail: http://127.0.0.1:8000/issues/{issue.pk}/"
    ]
    link.refresh_from_db()
    assert link.state == "closed"


def test_it_does_not_push_the_same_activity_twice(
    issue, alice, github, github_integration
):
    _file(issue, github_integration)
    resolve_issues([issue], user=alice, how="now", now=timezone.now())
    follow_activity(timezone.now())
    run_until_idle()
    # The overlap window reads the activity again.
    follow_activity(timezone.now())
    run_until_idle()
    assert len(github.comments[1]) == 1
    assert len(github.calls("PATCH", "/repos/acme/app/issues/1")) == 1


def test_it_reopens_the_ticket_with_the_new_events_link_on_regression(
    issue, jira, jira_integration
):
    _file(issue, jira_integration)
    jira.issues["OPS-1"]["category"] = "done"
    Activity.objects.create(
        issue=issue,
        kind=Activity.Kind.REGRESSION,
        data={"release": "2.0", "event_id": "a" * 32},
    )
    follow_activity(timezone.now())
    run_until_idle()
    assert jira.issues["OPS-1"]["category"] == "new"
    (comment,) = jira.comments["OPS-1"]
    assert document_text(comment) == (
        "Regressed in Fixtrail: a new event arrived in release 2.0: "
        f"http://127.0.0.1:8000/issues/{issue.pk}/events/{'a' * 32}/\n"
    )


def test_it_does_not_close_again_the_ticket_that_resolved_the_issue(
    client, issue, gitlab, gitlab_integration
):
    _file(issue, gitlab_integration)
    gitlab.issues[1]["state"] = "closed"
    response = client.post(
        f"/hooks/tickets/{gitlab_integration.hook_id}/",
        {
            "object_kind": "issue",
            "project": {"path_with_namespace": "group/app"},
            "object_attributes": {
                "iid": 1,
                "state": "closed",
                "updated_at": "2026-12-02T10:00:00Z",
            },
        },
        content_type="application/json",
        headers={"X-Gitlab-Token": gitlab_integration.webhook_secret},
    )
    assert response.json()["resolved"] == 1
    follow_activity(timezone.now())
    run_until_idle()
    assert gitlab.calls("PUT", "/api/v4/projects/group%2Fapp/issues/1") == []
    assert 1 not in gitlab.comments


def test_it_files_a_ticket_for_a_new_issue_matching_a_rule(
    project, gitlab, gitlab_integration
):
    AutoTicketRule.objects.create(integration=gitlab_integration, query="level:fatal")
    fatal = make_issue(project, level="fatal", title="Fatal crash")
    other = make_issue(project, level="error")
    for issue in (fatal, other):
        Activity.objects.create(issue=issue, kind=Activity.Kind.FIRST_SEEN)
    follow_activity(timezone.now())
    run_until_idle()
    assert len(gitlab.issues) == 1
    link = ExternalIssueLink.objects.get()
    assert link.issue == fatal
    assert link.origin == "rule"
    # Reading the activity again files nothing more.
    follow_activity(timezone.now())
    run_until_idle()
    assert len(gitlab.issues) == 1


def test_it_resolves_the_issue_when_a_poll_finds_the_ticket_closed(
    issue, github, github_integration
):
    link = _file(issue, github_integration)
    github.issues[1]["state"] = "closed"
    github.issues[1]["updated_at"] = "2026-12-02T10:00:00Z"
    assert poll_links(timezone.now()) == 1
    run_until_idle()
    link.refresh_from_db()
    assert link.state == "closed"
    issue.refresh_from_db()
    assert issue.status == "resolved"


def test_it_leaves_a_ticket_closed_by_hand_without_a_comment(
    issue, alice, gitlab, gitlab_integration
):
    link = _file(issue, gitlab_integration)
    gitlab.issues[1]["state"] = "closed"
    resolve_issues([issue], user=alice, how="now", now=timezone.now())
    follow_activity(timezone.now())
    run_until_idle()
    assert 1 not in gitlab.comments
    assert gitlab.calls("PUT", "/api/v4/projects/group%2Fapp/issues/1") == []
    link.refresh_from_db()
    assert link.state == "closed"


def test_it_comments_on_an_open_ticket_when_the_issue_regresses(
    issue, github, github_integration
):
    _file(issue, github_integration)
    Activity.objects.create(issue=issue, kind=Activity.Kind.REGRESSION, data={})
    follow_activity(timezone.now())
    run_until_idle()
    assert github.comments[1] == [
        f"Regressed in Fixtrail: a new event arrived: "
        f"http://127.0.0.1:8000/issues/{issue.pk}/"
    ]
    assert github.calls("PATCH", "/repos/acme/app/issues/1") == []
