"""The tickets panel of the issue page, the bulk action and the trackers
page: members file and link, viewers get 403, outsiders 404."""

from __future__ import annotations

import pytest

from fixtrail.integrations.models import ExternalIssueLink, Integration
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import run_until_idle
from tests.builders import make_issue


@pytest.fixture
def issue(project):
    return make_issue(project)


def _create(client, issue, key="abcdefgh12", **fields):
    data = {
        "integration": "gitlab",
        "title": "Crash in checkout",
        "body": "It broke.",
        "labels": "bug, prod",
        "assignee": "",
        "request_key": key,
        **fields,
    }
    return client.post(f"/issues/{issue.pk}/tickets/create/", data)


def test_it_shows_a_prefilled_create_form(client, bob, issue, gitlab_integration):
    client.force_login(bob)
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert 'id="tickets"' in page
    assert f'value="BACKEND-{issue.short_id}: ValueError: bad thing"' in page
    assert "**ValueError**: bad thing" in page


def test_it_files_a_ticket_from_the_issue_page(
    client, bob, issue, gitlab, gitlab_integration
):
    client.force_login(bob)
    response = _create(client, issue)
    assert response.status_code == 302
    assert response["Location"] == f"/issues/{issue.pk}/#tickets"
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert "Filing “Crash in checkout”…" in page
    run_until_idle()
    assert gitlab.issues[1]["title"] == "Crash in checkout"
    assert gitlab.issues[1]["labels"] == ["bug", "prod"]
    link = ExternalIssueLink.objects.get(issue=issue)
    assert link.created_by == bob
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert "GL-#1" in page
    assert "Filing" not in page


def test_it_files_one_ticket_for_a_resubmitted_form(
    client, bob, issue, gitlab, gitlab_integration
):
    client.force_login(bob)
    _create(client, issue)
    _create(client, issue)
    run_until_idle()
    assert Job.objects.count() == 1
    assert len(gitlab.issues) == 1


def test_it_shows_why_filing_failed(client, bob, issue, gitlab, gitlab_integration):
    Integration.objects.filter(pk=gitlab_integration.pk).update(target="group/gone")
    client.force_login(bob)
    _create(client, issue)
    run_until_idle()
    page = client.get(f"/issues/{issue.pk}/").content.decode()
    assert "Filing a ticket failed: GitLab does not know project group/gone" in page


def test_it_rejects_a_ticket_without_a_title(client, bob, issue, gitlab_integration):
    client.force_login(bob)
    _create(client, issue, title="")
    assert not Job.objects.exists()


def test_it_forbids_viewers_to_file_tickets(client, vera, issue, gitlab_integration):
    client.force_login(vera)
    assert _create(client, issue).status_code == 403
    assert not Job.objects.exists()


def test_it_hides_the_issue_from_outsiders(client, charlie, issue, gitlab_integration):
    client.force_login(charlie)
    assert _create(client, issue).status_code == 404
    response = client.post(
        f"/issues/{issue.pk}/tickets/link/", {"integration": "gitlab", "ticket": "3"}
    )
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_it_links_and_unlinks_a_ticket(client, bob, issue, gitlab_integration):
    client.force_login(bob)
    client.post(
        f"/issues/{issue.pk}/tickets/link/",
        {
            "integration": "gitlab",
            "ticket": f"{gitlab_integration.base_url}/group/app/-/issues/3",
        },
    )
    link = ExternalIssueLink.objects.get(issue=issue)
    assert link.external_id == "3"
    response = client.post(f"/issues/{issue.pk}/tickets/{link.pk}/unlink/")
    assert response.status_code == 302
    assert not ExternalIssueLink.objects.filter(issue=issue).exists()


def test_it_forbids_viewers_to_unlink(client, vera, issue, gitlab_integration):
    link = ExternalIssueLink.objects.create(
        issue=issue, integration=gitlab_integration, provider="gitlab", external_id="3"
    )
    client.force_login(vera)
    assert (
        client.post(f"/issues/{issue.pk}/tickets/{link.pk}/unlink/").status_code == 403
    )
    assert ExternalIssueLink.objects.filter(pk=link.pk).exists()


def test_it_files_tickets_for_the_selected_issues(
    client, bob, project, issue, gitlab, gitlab_integration
):
    other = make_issue(project, title="KeyError: x")
    client.force_login(bob)
    response = client.post(
        "/organizations/acme/issues/tickets/",
        {
            "issue": [issue.pk, other.pk],
            "integration": "gitlab",
            "request_key": "bulkkey123",
            "project": "backend",
            "next": "/organizations/acme/projects/backend/",
        },
    )
    assert response.status_code == 302
    run_until_idle()
    assert sorted(i["title"] for i in gitlab.issues.values()) == [
        f"BACKEND-{issue.short_id}: ValueError: bad thing",
        f"BACKEND-{other.short_id}: KeyError: x",
    ]


def test_it_shows_the_bulk_action_and_ticket_state_on_the_list(
    client, bob, issue, gitlab_integration
):
    ExternalIssueLink.objects.create(
        issue=issue,
        integration=gitlab_integration,
        provider="gitlab",
        external_id="3",
        state="closed",
    )
    client.force_login(bob)
    page = client.get("/organizations/acme/projects/backend/").content.decode()
    assert "Create tickets" in page
    assert "badge-ticket-closed" in page


def test_it_connects_a_tracker_and_shows_the_secret_once(client, org, alice, gitlab):
    client.force_login(alice)
    response = client.post(
        "/organizations/acme/integrations/add/gitlab/",
        {"url": gitlab.url, "token": "glpat-test-token", "target": "group/app"},
    )
    integration = Integration.objects.get()
    page = response.content.decode()
    assert integration.webhook_secret in page
    listing = client.get("/organizations/acme/integrations/").content.decode()
    assert integration.webhook_secret not in listing
    assert "glpat-test-token" not in listing
    run_until_idle()
    integration.refresh_from_db()
    assert integration.last_check_error == ""
    assert integration.last_checked_at is not None


def test_it_shows_a_bad_form_without_saving(client, org, alice):
    client.force_login(alice)
    response = client.post(
        "/organizations/acme/integrations/add/github/",
        {"token": "t", "repo": "not a repo"},
    )
    assert "repo: Give the repository as owner/repo." in response.content.decode()
    assert not Integration.objects.exists()


def test_it_lets_only_admins_connect_trackers(client, org, bob, charlie):
    client.force_login(bob)
    assert client.get("/organizations/acme/integrations/add/gitlab/").status_code == 403
    client.force_login(charlie)
    assert client.get("/organizations/acme/integrations/").status_code == 404


def test_it_validates_a_rules_search(client, alice, gitlab_integration):
    client.force_login(alice)
    client.post(
        "/organizations/acme/integrations/gitlab/rules/", {"query": "level:fatal"}
    )
    response = client.post(
        "/organizations/acme/integrations/gitlab/rules/",
        {"query": "is:nonsense"},
        follow=True,
    )
    assert [r.query for r in gitlab_integration.rules.all()] == ["level:fatal"]
    assert "is:nonsense" not in [r.query for r in gitlab_integration.rules.all()]
    assert response.status_code == 200


def test_it_finds_issues_with_tracker_tickets_by_is_linked(
    client, bob, project, issue, jira_integration
):
    other = make_issue(project, title="KeyError: unlinked one")
    ExternalIssueLink.objects.create(
        issue=issue, integration=jira_integration, provider="jira", external_id="OPS-2"
    )
    client.force_login(bob)
    linked = client.get(
        "/organizations/acme/projects/backend/", {"query": "is:linked"}
    ).content.decode()
    unlinked = client.get(
        "/organizations/acme/projects/backend/", {"query": "is:unlinked"}
    ).content.decode()
    assert "OPS-2" in linked and issue.title in linked
    assert other.title not in linked
    assert other.title in unlinked and "OPS-2" not in unlinked


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/"])
def test_it_never_sends_the_bulk_action_off_site(
    client, bob, issue, gitlab_integration, target
):
    client.force_login(bob)
    response = client.post(
        "/organizations/acme/issues/tickets/",
        {"issue": [issue.pk], "integration": "gitlab", "next": target},
    )
    assert response["Location"] == "/organizations/acme/"


@pytest.mark.parametrize("kind", ["gitlab", "github", "jira"])
def test_it_never_echoes_a_token_back(client, org, alice, kind):
    client.force_login(alice)
    response = client.post(
        f"/organizations/acme/integrations/add/{kind}/", {"token": "tok-SECRET-1"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="token"' in page
    assert "tok-SECRET-1" not in page
    assert not Integration.objects.exists()
