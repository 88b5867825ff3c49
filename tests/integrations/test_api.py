"""Trackers and tickets under /api/v1/."""

from __future__ import annotations

import pytest

from fixtrail.integrations.models import AutoTicketRule, ExternalIssueLink, Integration
from fixtrail.jobs.runner import run_until_idle
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_issue


@pytest.fixture
def issue(project):
    return make_issue(project)


@pytest.fixture
def alice_api(alice):
    return ApiClient(issue_token(alice))


@pytest.fixture
def bob_api(bob):
    return ApiClient(issue_token(bob))


@pytest.fixture
def vera_api(vera):
    return ApiClient(issue_token(vera))


@pytest.fixture
def charlie_api(charlie, charlies_org):
    return ApiClient(issue_token(charlie))


def test_it_connects_a_github_tracker(org, alice_api, github):
    response = alice_api.post_json(
        "/api/v1/organizations/acme/integrations",
        {"kind": "github", "token": "github_pat_test", "repo": "acme/app",
         "api_url": github.url},
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    integration = Integration.objects.get()
    assert body["name"] == "github"
    assert body["webhook_secret"] == integration.webhook_secret
    assert body["webhook_url"].endswith(f"/hooks/tickets/{integration.hook_id}/")
    run_until_idle()
    listed = alice_api.get("/api/v1/organizations/acme/integrations").json()
    assert listed[0]["last_check_error"] == ""
    assert "webhook_secret" not in listed[0]
    assert "token" not in listed[0]


def test_it_explains_a_bad_tracker(org, alice_api):
    response = alice_api.post_json(
        "/api/v1/organizations/acme/integrations",
        {"kind": "jira", "token": "t", "site": "https://x.atlassian.net",
         "email": "not-an-email", "project_key": "OPS"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"detail": "email: Enter a valid email address."}
    assert not Integration.objects.exists()


def test_it_lets_only_admins_connect(org, bob_api, charlie_api):
    body = {"kind": "github", "token": "t", "repo": "acme/app"}
    path = "/api/v1/organizations/acme/integrations"
    assert bob_api.post_json(path, body).status_code == 403
    assert charlie_api.post_json(path, body).status_code == 404
    assert not Integration.objects.exists()


def test_it_reports_a_failed_connection_test(
    org, alice_api, gitlab, gitlab_integration
):
    Integration.objects.filter(pk=gitlab_integration.pk).update(token="bad")
    response = alice_api.post("/api/v1/organizations/acme/integrations/gitlab/test")
    assert response.status_code == 202
    run_until_idle()
    (row,) = alice_api.get("/api/v1/organizations/acme/integrations").json()
    assert row["last_check_error"].startswith("GitLab rejected the credentials (401)")


def test_it_files_a_ticket_and_lists_it(issue, bob_api, gitlab, gitlab_integration):
    path = f"/api/v1/issues/{issue.pk}/tickets"
    response = bob_api.post_json(path, {"key": "req-1", "labels": ["api"]})
    assert response.status_code == 202
    assert response.json()["state"] == "pending"
    assert (
        bob_api.post_json(path, {"key": "req-1"}).json()["id"]
        == (response.json()["id"])
    )
    run_until_idle()
    listed = bob_api.get(path).json()
    assert listed["requests"] == []
    (link,) = listed["links"]
    assert link["label"] == "GL-#1"
    assert link["state"] == "open"
    assert link["origin"] == "created"
    assert gitlab.issues[1]["labels"] == ["api"]
    assert len(gitlab.issues) == 1


def test_it_forbids_viewers_and_hides_from_outsiders(
    issue, vera_api, charlie_api, gitlab_integration
):
    path = f"/api/v1/issues/{issue.pk}/tickets"
    assert vera_api.post_json(path, {"key": "k"}).status_code == 403
    assert charlie_api.post_json(path, {"key": "k"}).status_code == 404
    assert charlie_api.get(path).status_code == 404
    link = f"{path}/link"
    assert vera_api.post_json(link, {"ticket": "3"}).status_code == 403


def test_it_links_and_unlinks_a_jira_ticket(issue, bob_api, jira_integration):
    path = f"/api/v1/issues/{issue.pk}/tickets"
    response = bob_api.post_json(f"{path}/link", {"ticket": "OPS-4"})
    assert response.status_code == 201
    assert response.json()["url"] == f"{jira_integration.base_url}/browse/OPS-4"
    bad = bob_api.post_json(f"{path}/link", {"ticket": "WEB-4"})
    assert bad.json() == {"detail": "That issue is not in project OPS."}
    link_id = response.json()["id"]
    assert bob_api.delete(f"{path}/{link_id}").status_code == 204
    assert not ExternalIssueLink.objects.exists()


def test_it_adds_rules_with_a_valid_search(org, alice_api, gitlab_integration):
    path = "/api/v1/organizations/acme/integrations/gitlab/rules"
    ok = alice_api.post_json(path, {"query": "level:fatal environment:production"})
    assert ok.status_code == 201
    bad = alice_api.post_json(path, {"query": "age:-banana"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith('query: "age:" needs a relative time')
    assert [r.query for r in AutoTicketRule.objects.all()] == [
        "level:fatal environment:production"
    ]


def test_it_counts_tickets_filed_from_errors(
    issue, bob_api, github, github_integration
):
    bob_api.post_json(f"/api/v1/issues/{issue.pk}/tickets", {"key": "k"})
    run_until_idle()
    usage = bob_api.get("/api/v1/organizations/acme/ticket-usage").json()
    assert usage == [{"project": "backend", "tracker": "github", "count": 1}]
