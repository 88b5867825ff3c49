"""``fixtrail integration`` and ``fixtrail ticket``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fixtrail.integrations.models import ExternalIssueLink, Integration
from tests.builders import make_issue


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_adds_a_gitlab_tracker_and_prints_its_webhook(org, gitlab):
    out = _run(
        "integration", "add", "gitlab", "--org", "acme", "--url", gitlab.url,
        "--token", "glpat-test-token", "--target", "group/app",
    )  # fmt: skip
    row = json.loads(out)
    integration = Integration.objects.get()
    assert row == {
        "name": "gitlab",
        "webhook_url": f"http://127.0.0.1:8000/hooks/tickets/{integration.hook_id}/",
        "webhook_secret": integration.webhook_secret,
    }
    assert integration.token == "glpat-test-token"


def test_it_names_a_second_tracker_of_a_kind_apart(org, project, github):
    for _ in range(2):
        _run(
            "integration", "add", "github", "--org", "acme", "--project", "backend",
            "--api-url", github.url, "--token", "t", "--repo", "acme/app",
        )  # fmt: skip
    names = [
        json.loads(line)["name"] for line in _run("integration", "list").splitlines()
    ]
    assert names == ["github", "github-2"]


def test_it_adds_a_jira_tracker_and_tests_it(org, jira):
    _run(
        "integration", "add", "jira", "--org", "acme", "--site", jira.url,
        "--email", "ops@example.org", "--token", "jira-api-token",
        "--project-key", "ops",
    )  # fmt: skip
    assert Integration.objects.get().target == "OPS"
    out = _run("integration", "test", "jira", "--org", "acme")
    assert out.strip() == "jira works: signed in as ops@example.org, project OPS"


def test_it_says_what_is_wrong_with_a_tracker(org, gitlab):
    _run(
        "integration", "add", "gitlab", "--org", "acme", "--url", gitlab.url,
        "--token", "expired", "--target", "group/app",
    )  # fmt: skip
    with pytest.raises(CommandError, match=r"gitlab: GitLab rejected the credentials"):
        _run("integration", "test", "gitlab", "--org", "acme")


def test_it_refuses_an_unknown_project(org):
    with pytest.raises(CommandError, match="No project 'nope' here."):
        _run(
            "integration", "add", "github", "--org", "acme", "--project", "nope",
            "--token", "t", "--repo", "acme/app",
        )  # fmt: skip
    assert not Integration.objects.exists()


def test_it_files_a_ticket_and_prints_its_url(project, gitlab, gitlab_integration):
    issue = make_issue(project)
    out = _run("ticket", "create", f"BACKEND-{issue.short_id}")
    assert out.strip() == f"{gitlab.url}/group/app/-/issues/1"
    # Running it again prints the same ticket and files no other.
    again = _run("ticket", "create", f"BACKEND-{issue.short_id}")
    assert again == out
    assert len(gitlab.issues) == 1
    assert ExternalIssueLink.objects.get().origin == "created"


def test_it_asks_which_tracker_when_there_are_several(
    project, gitlab_integration, github_integration
):
    issue = make_issue(project)
    with pytest.raises(CommandError, match="Choose a tracker: github, gitlab."):
        _run("ticket", "create", f"BACKEND-{issue.short_id}")


def test_it_reports_a_failed_ticket(project, jira, jira_integration):
    issue = make_issue(project)
    Integration.objects.filter(pk=jira_integration.pk).update(issue_type="Epic")
    with pytest.raises(CommandError, match=r"the ticket was not filed: Jira refused"):
        _run("ticket", "create", f"BACKEND-{issue.short_id}", "--integration", "jira")
