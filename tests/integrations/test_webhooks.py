"""Tracker webhooks: verified before anything is read, idempotent, and a
closed ticket resolves its issue."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.models import Activity
from tests.builders import make_issue


@pytest.fixture
def issue(project):
    return make_issue(project)


def _link(issue, integration, external_id, state="open", at=None):
    return ExternalIssueLink.objects.create(
        issue=issue,
        integration=integration,
        provider=integration.kind,
        external_id=external_id,
        origin="created",
        state=state,
        state_at=at,
    )


def _gitlab(client, integration, state, updated_at, token=None):
    body = {
        "object_kind": "issue",
        "event_type": "issue",
        "project": {"id": 5, "path_with_namespace": "group/app"},
        "object_attributes": {
            "iid": 4,
            "title": "Crash",
            "state": state,
            "action": "close" if state == "closed" else "reopen",
            "updated_at": updated_at,
            "url": "https://gitlab.example.com/group/app/-/issues/4",
        },
    }
    return client.post(
        f"/hooks/tickets/{integration.hook_id}/",
        json.dumps(body),
        content_type="application/json",
        headers={
            "X-Gitlab-Event": "Issue Hook",
            "X-Gitlab-Token": token or integration.webhook_secret,
        },
    )


def _signed(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _github(client, integration, state, updated_at, signature=None):
    body = json.dumps(
        {
            "action": "closed" if state == "closed" else "reopened",
            "issue": {
                "number": 7,
                "title": "Crash",
                "state": state,
                "updated_at": updated_at,
                "html_url": "https://github.com/acme/app/issues/7",
            },
            "repository": {"full_name": "acme/app"},
        }
    ).encode()
    return client.post(
        f"/hooks/tickets/{integration.hook_id}/",
        body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "issues",
            "X-Hub-Signature-256": signature
            or _signed(integration.webhook_secret, body),
        },
    )


def _jira(client, integration, category, updated, signature=None):
    body = json.dumps(
        {
            "timestamp": 1764583200000,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": {
                "id": "10001",
                "key": "OPS-12",
                "fields": {
                    "summary": "Crash",
                    "project": {"key": "OPS"},
                    "status": {"name": "Done", "statusCategory": {"key": category}},
                    "updated": updated,
                },
            },
        }
    ).encode()
    return client.post(
        f"/hooks/tickets/{integration.hook_id}/",
        body,
        content_type="application/json",
        headers={
            "X-Hub-Signature": signature or _signed(integration.webhook_secret, body)
        },
    )


def test_it_resolves_the_issue_when_its_gitlab_ticket_closes(
    client, issue, gitlab_integration
):
    link = _link(issue, gitlab_integration, "4")
    response = _gitlab(client, gitlab_integration, "closed", "2026-12-01 10:00:00 UTC")
    assert response.status_code == 200
    assert response.json() == {"changes": 1, "resolved": 1}
    issue.refresh_from_db()
    assert issue.status == "resolved"
    link.refresh_from_db()
    assert link.state == "closed"
    activity = Activity.objects.get(issue=issue, kind="resolved")
    assert activity.user is None
    assert activity.data["ticket"] == "GL-#4"


def test_it_resolves_the_issue_when_its_github_ticket_closes(
    client, issue, github_integration
):
    _link(issue, github_integration, "7")
    response = _github(client, github_integration, "closed", "2026-12-01T10:00:00Z")
    assert response.json() == {"changes": 1, "resolved": 1}
    issue.refresh_from_db()
    assert issue.status == "resolved"


def test_it_resolves_the_issue_when_its_jira_ticket_is_done(
    client, issue, jira_integration
):
    _link(issue, jira_integration, "OPS-12")
    response = _jira(client, jira_integration, "done", "2026-12-01T10:00:00.000+0000")
    assert response.json() == {"changes": 1, "resolved": 1}
    issue.refresh_from_db()
    assert issue.status == "resolved"
    assert Activity.objects.get(issue=issue, kind="resolved").data["ticket"] == "OPS-12"


@pytest.mark.parametrize(
    "send, fixture, header",
    [
        (_gitlab, "gitlab_integration", "X-Gitlab-Token"),
        (_github, "github_integration", "X-Hub-Signature-256"),
        (_jira, "jira_integration", "X-Hub-Signature"),
    ],
)
def test_it_rejects_a_bad_secret_and_changes_nothing(
    request, client, issue, send, fixture, header
):
    integration = request.getfixturevalue(fixture)
    link = _link(
        issue,
        integration,
        {"gitlab": "4", "github": "7"}.get(integration.kind, "OPS-12"),
    )
    state = "done" if integration.kind == "jira" else "closed"
    bad = "sha256=" + "0" * 64
    kwargs = {"token": "wrong"} if integration.kind == "gitlab" else {"signature": bad}
    response = send(client, integration, state, "2026-12-01T10:00:00Z", **kwargs)
    assert response.status_code == 403
    assert response.json() == {"detail": f"Bad or missing {header}"}
    issue.refresh_from_db()
    assert issue.status == "unresolved"
    link.refresh_from_db()
    assert link.state == "open"
    assert not Activity.objects.filter(issue=issue).exists()


def test_it_answers_404_for_an_unknown_hook(client, gitlab_integration):
    response = client.post(
        "/hooks/tickets/00000000-0000-0000-0000-000000000000/",
        "{}",
        content_type="application/json",
    )
    assert response.status_code == 404


def test_it_ignores_a_replayed_delivery(client, issue, gitlab_integration):
    _link(issue, gitlab_integration, "4")
    _gitlab(client, gitlab_integration, "closed", "2026-12-01 10:00:00 UTC")
    # Someone reopens the issue in Fixtrail; the same delivery comes again.
    issue.status = "unresolved"
    issue.save()
    response = _gitlab(client, gitlab_integration, "closed", "2026-12-01 10:00:00 UTC")
    assert response.json() == {"changes": 1, "resolved": 0}
    issue.refresh_from_db()
    assert issue.status == "unresolved"
    assert Activity.objects.filter(issue=issue, kind="resolved").count() == 1


def test_it_ignores_an_older_delivery_that_arrives_late(
    client, issue, github_integration
):
    link = _link(issue, github_integration, "7")
    _github(client, github_integration, "open", "2026-12-01T11:00:00Z")
    # The close happened before the reopen, but arrives after it.
    response = _github(client, github_integration, "closed", "2026-12-01T10:00:00Z")
    assert response.json() == {"changes": 1, "resolved": 0}
    link.refresh_from_db()
    assert link.state == "open"
    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_ignores_events_of_other_projects(client, issue, gitlab_integration):
    _link(issue, gitlab_integration, "4")
    body = {
        "object_kind": "issue",
        "project": {"path_with_namespace": "group/other"},
        "object_attributes": {
            "iid": 4,
            "state": "closed",
            "updated_at": "2026-12-01T10:00:00Z",
        },
    }
    response = client.post(
        f"/hooks/tickets/{gitlab_integration.hook_id}/",
        json.dumps(body),
        content_type="application/json",
        headers={"X-Gitlab-Token": gitlab_integration.webhook_secret},
    )
    assert response.json() == {"changes": 0, "resolved": 0}


def test_it_rejects_a_body_that_is_not_json(client, gitlab_integration):
    response = client.post(
        f"/hooks/tickets/{gitlab_integration.hook_id}/",
        b"not json",
        content_type="application/json",
        headers={"X-Gitlab-Token": gitlab_integration.webhook_secret},
    )
    assert response.status_code == 400


def test_it_checks_the_signature_before_reading_the_body(client, github_integration):
    response = client.post(
        f"/hooks/tickets/{github_integration.hook_id}/",
        b"{not json",
        content_type="application/json",
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=00"},
    )
    # 403, not 400: an unsigned body is never parsed.
    assert response.status_code == 403


def test_it_registers_its_jobs_and_periodic_tasks_with_the_runner():
    from fixtrail.jobs.registry import HANDLERS, PERIODIC

    assert {
        "integrations.create_ticket",
        "integrations.refresh_ticket",
        "integrations.push_state",
        "integrations.check",
    } <= set(HANDLERS)
    assert PERIODIC["integrations.follow_activity"].seconds == 10
    assert PERIODIC["integrations.poll_tickets"].seconds == 300
