"""Filing, linking and counting tickets: the jobs against stand-in trackers."""

from __future__ import annotations

import pytest

from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.integrations.tickets import (
    TicketError,
    compose_ticket_body,
    draft_ticket,
    link_ticket,
    request_marker,
    request_ticket,
    ticket_requests,
    tickets_created,
)
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import retry_now, run_until_idle
from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Release
from fixtrail.releases.providers.base import CommitInfo
from tests.api.conftest import digest_events, python_error
from tests.builders import make_issue, make_repository


@pytest.fixture
def issue(project):
    return make_issue(project, times_seen=12, user_count=3, first_release="1.2")


def test_it_composes_a_body_with_facts_and_a_link_back(issue):
    body = compose_ticket_body(issue)
    assert body.startswith("**ValueError**: bad thing")
    assert "Culprit: `app.views in index`" in body
    assert "- Events: 12" in body
    assert "- Users affected: 3" in body
    assert " in release 1.2" in body
    assert body.endswith(f"http://127.0.0.1:8000/issues/{issue.pk}/")


def test_it_files_a_ticket_as_a_job_and_links_it(issue, gitlab, gitlab_integration):
    draft = draft_ticket(issue, gitlab_integration)
    job = request_ticket(issue, gitlab_integration, key="k1", user=None, draft=draft)
    assert job.state == Job.State.PENDING
    # Nothing is called until the job runs.
    assert gitlab.requests == []
    assert run_until_idle() == 1
    link = ExternalIssueLink.objects.get(issue=issue)
    assert link.integration == gitlab_integration
    assert link.external_id == "1"
    assert link.state == "open"
    assert link.origin == "created"
    assert link.url == f"{gitlab.url}/group/app/-/issues/1"
    assert (
        gitlab.issues[1]["title"] == f"BACKEND-{issue.short_id}: ValueError: bad thing"
    )
    # The body ends with the request's marker, which a retry looks for.
    assert gitlab.issues[1]["description"] == (
        f"{draft.body}\n\n{request_marker(job.key)}"
    )
    job.refresh_from_db()
    assert job.result["url"] == link.url


def test_it_never_files_two_tickets_for_one_request_key(
    issue, github, github_integration
):
    draft = draft_ticket(issue, github_integration)
    first = request_ticket(issue, github_integration, key="k", user=None, draft=draft)
    run_until_idle()
    again = request_ticket(issue, github_integration, key="k", user=None, draft=draft)
    run_until_idle()
    assert again.pk == first.pk
    assert len(github.issues) == 1
    assert ExternalIssueLink.objects.filter(issue=issue).count() == 1


def test_it_shows_a_failed_request_with_the_trackers_error(issue, jira_integration):
    jira_integration.token = "revoked"
    jira_integration.save()
    request_ticket(
        issue,
        jira_integration,
        key="k",
        user=None,
        draft=draft_ticket(issue, jira_integration),
    )
    run_until_idle()
    (job,) = ticket_requests(issue)
    assert job.state == Job.State.FAILED
    assert job.last_error.startswith("Jira rejected the credentials (401)")
    assert not ExternalIssueLink.objects.filter(issue=issue).exists()


def test_it_refuses_a_tracker_of_another_project(issue, org, gitlab_integration):
    from tests.builders import make_project

    gitlab_integration.project = make_project(org, "frontend")
    gitlab_integration.save()
    with pytest.raises(TicketError, match="not connected to this issue's project"):
        request_ticket(issue, gitlab_integration, key="k", user=None)


@pytest.mark.parametrize(
    "reference", ["7", "#7", "https://github.com/acme/app/issues/7"]
)
def test_it_links_an_existing_ticket_by_number_or_url(
    issue, github, github_integration, reference
):
    github.issues[7] = {
        "number": 7,
        "title": "Old bug",
        "state": "closed",
        "updated_at": "2026-11-30T10:00:00Z",
        "html_url": f"{github.url}/acme/app/issues/7",
    }
    link = link_ticket(issue, github_integration, reference, user=None)
    assert link.external_id == "7"
    assert link.origin == "linked"
    run_until_idle()
    link.refresh_from_db()
    assert link.title == "Old bug"
    assert link.state == "closed"
    # A ticket that was closed before it was linked resolves nothing.
    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_refuses_a_ticket_of_another_repository(issue, github_integration):
    with pytest.raises(TicketError, match="That issue is not in acme/app."):
        link_ticket(
            issue, github_integration, "https://github.com/acme/web/issues/7", user=None
        )


def test_it_refuses_to_link_the_same_ticket_twice(issue, jira_integration):
    link_ticket(issue, jira_integration, "OPS-3", user=None)
    with pytest.raises(TicketError, match="OPS-3 is already linked to this issue."):
        link_ticket(issue, jira_integration, "3", user=None)


def test_it_counts_tickets_filed_from_errors_per_project_and_tracker(
    org, issue, gitlab_integration, jira_integration
):
    for integration in (gitlab_integration, jira_integration):
        request_ticket(
            issue,
            integration,
            key="k",
            user=None,
            draft=draft_ticket(issue, integration),
        )
    run_until_idle()
    link_ticket(issue, jira_integration, "OPS-9", user=None)
    assert tickets_created(org) == [
        {"project": "backend", "tracker": "gitlab", "count": 1},
        {"project": "backend", "tracker": "jira", "count": 1},
    ]


@pytest.mark.parametrize(
    "server, fixture",
    [
        ("gitlab", "gitlab_integration"),
        ("github", "github_integration"),
        ("jira", "jira_integration"),
    ],
)
def test_it_files_once_when_the_trackers_answer_was_lost(
    request, issue, server, fixture
):
    stand_in = request.getfixturevalue(server)
    integration = request.getfixturevalue(fixture)
    stand_in.lose_next_create = True
    job = request_ticket(
        issue, integration, key="k", user=None, draft=draft_ticket(issue, integration)
    )
    run_until_idle()
    job.refresh_from_db()
    assert job.state == Job.State.PENDING
    assert job.last_error.endswith('answered 502: {"message": "Bad Gateway"}')
    # The tracker did file it; the retry finds it instead of filing again.
    assert len(stand_in.issues) == 1
    retry_now(job)
    run_until_idle()
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert len(stand_in.issues) == 1
    link = ExternalIssueLink.objects.get(issue=issue)
    assert job.result["url"] == link.url


def test_it_names_the_suspect_commit_and_its_merge_request(org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    store_commits(
        Release.objects.get(),
        make_repository(org),
        [
            CommitInfo(
                sha="d" * 40,
                message="Speed up the `index`\n\nSee merge request acme/shop!5",
                author_name="Bob",
                files=[("src/app/views.py", "M")],
            )
        ],
    )
    body = compose_ticket_body(project.issues.get())
    assert "Suspect commits:" in body
    assert (
        f"- [`dddddddddddd`](https://gitlab.example.com/acme/shop/-/commit/{'d' * 40})"
        " Speed up the 'index' (Bob; changed src/app/views.py, in the stack trace)"
        ", introduced by [!5](https://gitlab.example.com/acme/shop/-/merge_requests/5)"
    ) in body


def test_it_leaves_suspects_out_without_commits(issue):
    assert "Suspect commits" not in compose_ticket_body(issue)
