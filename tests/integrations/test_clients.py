"""The tracker clients against stand-in servers: what each request carries
and how each failure reads."""

from __future__ import annotations

import pytest

from fixtrail.integrations.base import TrackerError
from fixtrail.integrations.connections import check_integration
from fixtrail.integrations.jira.client import document_text
from fixtrail.integrations.registry import tracker
from tests.integrations.stand_ins import START


def _client(integration):
    return tracker(integration.kind).client(integration)


@pytest.mark.parametrize(
    "name", ["gitlab_integration", "github_integration", "jira_integration"]
)
def test_it_reports_a_working_connection(request, name):
    integration = request.getfixturevalue(name)
    found = check_integration(integration, START)
    assert "signed in as" in found
    integration.refresh_from_db()
    assert integration.last_check_error == ""
    assert integration.last_checked_at == START


@pytest.mark.parametrize(
    "name", ["gitlab_integration", "github_integration", "jira_integration"]
)
def test_it_says_the_token_is_bad(request, name):
    integration = request.getfixturevalue(name)
    integration.token = "wrong"
    integration.save()
    with pytest.raises(TrackerError, match=r"rejected the credentials \(401\)"):
        check_integration(integration, START)
    integration.refresh_from_db()
    assert "rejected the credentials" in integration.last_check_error


def test_it_says_the_gitlab_project_is_unknown(gitlab_integration):
    gitlab_integration.target = "group/other"
    with pytest.raises(
        TrackerError, match=r"GitLab does not know project group/other, or the token"
    ):
        check_integration(gitlab_integration, START)


def test_it_says_the_github_repository_is_unknown(github_integration):
    github_integration.target = "acme/nope"
    with pytest.raises(
        TrackerError, match=r"GitHub does not know repository acme/nope"
    ):
        check_integration(github_integration, START)


def test_it_says_the_jira_issue_type_is_unknown(jira_integration):
    jira_integration.issue_type = "Epic"
    with pytest.raises(
        TrackerError,
        match=r"Jira project OPS has no issue type 'Epic'; it has Bug, Task",
    ):
        check_integration(jira_integration, START)


def test_it_files_a_gitlab_issue_with_labels_and_assignee(gitlab, gitlab_integration):
    ticket = _client(gitlab_integration).create("T", "body", ["bug", "prod"], "dana")
    assert ticket.external_id == "1"
    assert ticket.url == f"{gitlab.url}/group/app/-/issues/1"
    assert ticket.state == "open"
    (call,) = gitlab.calls("POST", "/api/v4/projects/group%2Fapp/issues")
    assert call.headers["private-token"] == "glpat-test-token"
    assert call.body == {
        "title": "T",
        "description": "body",
        "labels": "bug,prod",
        "assignee_ids": [77],
    }
    assert gitlab.unexpected == []


def test_it_closes_and_reopens_a_gitlab_issue(gitlab, gitlab_integration):
    client = _client(gitlab_integration)
    client.create("T", "b", [], "")
    client.comment("1", "Resolved in Fixtrail")
    assert client.set_closed("1", True).state == "closed"
    assert client.set_closed("1", False).state == "open"
    edits = gitlab.calls("PUT", "/api/v4/projects/group%2Fapp/issues/1")
    assert [e.body for e in edits] == [
        {"state_event": "close"},
        {"state_event": "reopen"},
    ]
    assert gitlab.comments[1] == ["Resolved in Fixtrail"]


def test_it_files_and_closes_a_github_issue(github, github_integration):
    client = _client(github_integration)
    ticket = client.create("T", "body", ["bug"], "dana")
    assert ticket.url == f"{github.url}/acme/app/issues/1"
    (call,) = github.calls("POST", "/repos/acme/app/issues")
    assert call.body == {
        "title": "T",
        "body": "body",
        "labels": ["bug"],
        "assignees": ["dana"],
    }
    assert call.headers["x-github-api-version"] == "2022-11-28"
    client.comment("1", "done")
    assert client.set_closed("1", True).state == "closed"
    (edit,) = github.calls("PATCH", "/repos/acme/app/issues/1")
    assert edit.body == {"state": "closed", "state_reason": "completed"}
    assert github.comments[1] == ["done"]
    assert github.unexpected == []


def test_it_files_a_jira_issue_as_a_document(jira, jira_integration):
    client = _client(jira_integration)
    ticket = client.create("T", "Error\n\n```\napp.py:3 in f\n```", ["a b"], "")
    assert ticket.external_id == "OPS-1"
    assert ticket.url == f"{jira.url}/browse/OPS-1"
    (call,) = jira.calls("POST", "/rest/api/3/issue")
    fields = call.body["fields"]
    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["labels"] == ["a-b"]
    assert [n["type"] for n in fields["description"]["content"]] == [
        "paragraph",
        "codeBlock",
    ]
    assert document_text(fields["description"]) == "Error\napp.py:3 in f\n"


def test_it_moves_a_jira_issue_through_done_and_back(jira, jira_integration):
    client = _client(jira_integration)
    client.create("T", "b", [], "")
    assert client.set_closed("OPS-1", True).state == "closed"
    assert client.set_closed("OPS-1", False).state == "open"
    posts = jira.calls("POST", "/rest/api/3/issue/OPS-1/transitions")
    assert [p.body for p in posts] == [
        {"transition": {"id": "31"}},
        {"transition": {"id": "11"}},
    ]


def test_it_retries_a_tracker_outage_but_not_a_missing_issue(
    gitlab, gitlab_integration
):
    client = _client(gitlab_integration)
    gitlab.fail_next = 503
    with pytest.raises(TrackerError) as outage:
        client.get("1")
    assert outage.value.permanent is False
    with pytest.raises(TrackerError) as missing:
        client.get("1")
    assert missing.value.permanent is True
