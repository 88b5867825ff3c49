from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.releases.merge_requests import (
    LOOKUP_KIND,
    SHAS_PER_JOB,
    enqueue_merge_request_lookup,
)
from fixtrail.releases.models import Commit, MergeRequest
from tests.builders import make_commit, make_merge_request, make_repository
from tests.releases.standins import (
    FakeCommit,
    FakeMergeRequest,
    GitHubStandIn,
    GitLabStandIn,
)

TOKEN = "glpat-lookup-token"
SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    for sha in (SHA_A, SHA_B, SHA_C):
        standin.add_commit(FakeCommit(sha, f"Commit {sha[0]}"))
    standin.add_merge_request(
        FakeMergeRequest(7, "Average the cart", "dana", shas=[SHA_A, SHA_B])
    )
    yield standin
    standin.stop()


@pytest.fixture
def repository(org, gitlab):
    return make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)


def test_it_stores_and_links_the_merge_request_of_new_commits(repository, gitlab):
    a = make_commit(repository, SHA_A)
    b = make_commit(repository, SHA_B)
    c = make_commit(repository, SHA_C)

    jobs = enqueue_merge_request_lookup(repository, [SHA_A, SHA_B, SHA_C])
    runner.run_until_idle()

    assert len(jobs) == 1
    jobs[0].refresh_from_db()
    assert jobs[0].state == Job.State.DONE
    assert jobs[0].result == {"asked": 3, "linked": 2}
    assert jobs[0].owner == f"releases.repository:{repository.pk}"
    mr = MergeRequest.objects.get()
    assert (mr.repository, mr.number, mr.title, mr.author) == (
        repository, 7, "Average the cart", "dana",
    )  # fmt: skip
    assert mr.url == f"{gitlab.web_url}/-/merge_requests/7"
    assert mr.merged_at == dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
    for commit in (a, b, c):
        commit.refresh_from_db()
    assert a.merge_request == mr
    assert b.merge_request == mr
    # The stand-in has no merge request for c: it stays without one.
    assert c.merge_request is None
    assert len(gitlab.calls("GET")) == 3
    assert gitlab.unexpected == []


def test_it_does_not_ask_about_commits_that_have_their_merge_request(
    repository, gitlab
):
    known = make_merge_request(repository, 3, url="https://gitlab.example/mr/3")
    make_commit(repository, SHA_A, merge_request=known)

    enqueue_merge_request_lookup(repository, [SHA_A])
    runner.run_until_idle()

    assert gitlab.requests == []
    assert Commit.objects.get().merge_request == known


def test_it_fills_in_a_merge_request_read_from_a_commit_message(repository, gitlab):
    parsed = make_merge_request(repository, 7, title="", author="", url="")
    make_commit(repository, SHA_A, merge_request=parsed)

    enqueue_merge_request_lookup(repository, [SHA_A])
    runner.run_until_idle()

    parsed.refresh_from_db()
    assert parsed.title == "Average the cart"
    assert parsed.author == "dana"
    assert parsed.url == f"{gitlab.web_url}/-/merge_requests/7"
    assert MergeRequest.objects.count() == 1


def test_it_queues_nothing_for_a_repository_without_token(org, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token="")

    assert enqueue_merge_request_lookup(repository, [SHA_A]) == []
    assert Job.objects.count() == 0


def test_it_splits_many_commits_into_bounded_jobs(repository):
    shas = [f"{n:040x}" for n in range(SHAS_PER_JOB + 1)]

    jobs = enqueue_merge_request_lookup(repository, shas + shas[:3])

    assert [len(job.payload["shas"]) for job in jobs] == [SHAS_PER_JOB, 1]
    assert {job.kind for job in jobs} == {LOOKUP_KIND}


def test_it_fails_the_job_with_a_clear_error_on_a_bad_token(org, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token="revoked")
    make_commit(repository, SHA_A)

    [job] = enqueue_merge_request_lookup(repository, [SHA_A])
    runner.run_until_idle()

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.attempts == 1
    assert job.last_error == (
        "GitLab refused the access token (HTTP 401: 401 Unauthorized): set a "
        "valid token on the repository"
    )
    assert Commit.objects.get().merge_request is None


def test_it_retries_after_a_rate_limit_as_the_host_asked(repository, gitlab):
    make_commit(repository, SHA_A)
    gitlab.fail_next("GET", ".*/merge_requests", 429, {"Retry-After": "90"})

    [job] = enqueue_merge_request_lookup(repository, [SHA_A])
    before = timezone.now()
    runner.run_until_idle()

    job.refresh_from_db()
    assert job.state == Job.State.PENDING
    assert job.attempts == 1
    assert job.last_error == "GitLab rate limit reached (HTTP 429); will retry"
    assert before + dt.timedelta(seconds=89) <= job.run_after
    assert job.run_after <= timezone.now() + dt.timedelta(seconds=90)

    assert runner.run_due(now=job.run_after) == 1

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.attempts == 2
    assert Commit.objects.get().merge_request.number == 7


def test_it_finds_pull_requests_on_github(org):
    github = GitHubStandIn("ghp_lookup")
    github.start()
    try:
        github.add_commit(FakeCommit(SHA_A, "Fix (#12)"))
        github.add_merge_request(FakeMergeRequest(12, "Fix it", "eve", shas=[SHA_A]))
        repository = make_repository(org, "github", github.web_url, token="ghp_lookup")
        commit = make_commit(repository, SHA_A)

        enqueue_merge_request_lookup(repository, [SHA_A])
        runner.run_until_idle()
    finally:
        github.stop()

    commit.refresh_from_db()
    assert commit.merge_request.number == 12
    assert commit.merge_request.url == f"{github.web_url}/pull/12"
    assert github.calls() == [f"GET /api/v3/repos/acme/backend/commits/{SHA_A}/pulls"]
