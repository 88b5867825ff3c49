from __future__ import annotations

import datetime as dt

import httpx
import pytest

from fixtrail.releases.providers.base import ProviderError, provider_for
from fixtrail.releases.providers.github import repository_location
from fixtrail.releases.providers.rest import (
    ProviderRefused,
    ProviderUnavailable,
    retry_after,
)
from tests.builders import make_repository
from tests.releases.standins import FakeCommit, FakeMergeRequest, GitHubStandIn

TOKEN = "ghp_stand_in_token"
SHAS = [f"{n:040x}" for n in range(0xB1, 0xB5)]
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def github():
    standin = GitHubStandIn(TOKEN, repo="acme/backend")
    standin.start()
    for n, sha in enumerate(SHAS):
        standin.add_commit(
            FakeCommit(
                sha, f"Commit {n} (#1{n})", files=[(f"m{n}.py", "M"), ("new.py", "A")]
            )
        )
    yield standin
    standin.stop()


@pytest.fixture
def repository(org, github):
    return make_repository(org, "github", github.web_url, token=TOKEN)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/backend", ("https://api.github.com", "acme/backend")),
        (
            "https://github.com/acme/backend.git",
            ("https://api.github.com", "acme/backend"),
        ),
        (
            "https://github.com/acme/backend/pulls",
            ("https://api.github.com", "acme/backend"),
        ),
        (
            "https://git.example.com/acme/backend",
            ("https://git.example.com/api/v3", "acme/backend"),
        ),
    ],
)
def test_it_finds_the_api_and_repository_in_a_web_url(url, expected):
    assert repository_location(url) == expected


def test_it_refuses_a_url_without_repository():
    with pytest.raises(ProviderError, match="is not a GitHub repository URL") as info:
        repository_location("https://github.com/acme")
    assert info.value.permanent is True


def test_it_reads_a_range_of_commits_newest_first_with_files(repository, github):
    commits = provider_for(repository).commits_between(SHAS[0], SHAS[2])

    assert [c.sha for c in commits] == [SHAS[2], SHAS[1]]
    assert commits[0].message == "Commit 2 (#12)"
    assert commits[0].author_name == "Dana Developer"
    assert commits[0].authored_at == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert commits[0].files == [("m2.py", "M"), ("new.py", "A")]
    assert github.calls() == [
        f"GET /api/v3/repos/acme/backend/compare/{SHAS[0]}...{SHAS[2]}",
        f"GET /api/v3/repos/acme/backend/commits/{SHAS[2]}",
        f"GET /api/v3/repos/acme/backend/commits/{SHAS[1]}",
    ]
    for seen in github.requests:
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["x-github-api-version"] == "2022-11-28"
    assert github.unexpected == []


def test_it_follows_pages_of_a_compare(repository, github):
    github.max_per_page = 2

    commits = provider_for(repository).commits_between(SHAS[0], SHAS[3])

    assert [c.sha for c in commits] == [SHAS[3], SHAS[2], SHAS[1]]
    compares = [s for s in github.requests if "/compare/" in s.path]
    assert [s.query for s in compares] == [
        {"per_page": ["100"]},
        {"per_page": ["2"], "page": ["2"]},
    ]


def test_it_reads_recent_history_when_there_is_no_start(repository, github):
    commits = provider_for(repository).commits_between(None, SHAS[1])

    assert [c.sha for c in commits] == [SHAS[1], SHAS[0]]
    assert github.requests[0].query == {"sha": [SHAS[1]], "per_page": ["20"]}


def test_it_finds_the_merged_pull_request_of_a_commit(repository, github):
    github.add_merge_request(
        FakeMergeRequest(12, "Fix the cart", "dana", shas=[SHAS[2]])
    )
    github.add_merge_request(
        FakeMergeRequest(15, "Open one", "eve", merged_at=None, shas=[SHAS[2]])
    )

    found = provider_for(repository).merge_requests_of(SHAS[2])

    assert [(f.number, f.title, f.author) for f in found] == [
        (12, "Fix the cart", "dana")
    ]
    assert found[0].url == f"{github.web_url}/pull/12"
    assert found[0].merged_at == dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
    assert github.calls() == [f"GET /api/v3/repos/acme/backend/commits/{SHAS[2]}/pulls"]


def test_it_writes_a_comment_then_edits_the_same_comment(repository, github):
    provider = provider_for(repository)

    first = provider.upsert_note(12, "first body")
    second = provider.upsert_note(12, "second body", note_id=first)

    assert first == second == "9001"
    assert github.notes == {12: {9001: "second body"}}
    assert github.calls() == [
        "POST /api/v3/repos/acme/backend/issues/12/comments",
        "PATCH /api/v3/repos/acme/backend/issues/comments/9001",
    ]
    assert [s.body for s in github.requests] == [
        {"body": "first body"},
        {"body": "second body"},
    ]
    assert github.unexpected == []


def test_it_calls_a_bad_token_a_permanent_error(org, github):
    repository = make_repository(org, "github", github.web_url, token="wrong")

    with pytest.raises(ProviderRefused, match="GitHub refused the access token"):
        provider_for(repository).upsert_note(12, "body")

    assert github.notes == {}


def test_it_calls_a_forbidden_repository_a_permanent_error(repository, github):
    github.fail_next("GET", ".*/pulls", 403, {}, {"message": "Resource not accessible"})

    with pytest.raises(ProviderRefused) as info:
        provider_for(repository).merge_requests_of(SHAS[0])

    assert info.value.message == (
        f"GitHub denied access to commit {SHAS[0]} in acme/backend (HTTP 403: "
        "Resource not accessible): the token lacks the scope or the permission "
        "this needs"
    )


def test_it_waits_for_a_spent_rate_limit_until_its_reset(repository, github):
    reset = int(dt.datetime.now(dt.UTC).timestamp()) + 600
    github.fail_next(
        "GET",
        ".*/pulls",
        403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        {"message": "API rate limit exceeded"},
    )

    with pytest.raises(ProviderUnavailable) as info:
        provider_for(repository).merge_requests_of(SHAS[0])

    assert info.value.permanent is False
    assert 590 <= info.value.retry_after.total_seconds() <= 600


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, dt.timedelta(seconds=120)),
        ({"Retry-After": "Mon, 02 Mar 2026 12:05:00 GMT"}, dt.timedelta(minutes=5)),
        ({"Retry-After": "0"}, dt.timedelta(seconds=1)),
        ({"Retry-After": "86400"}, dt.timedelta(hours=1)),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (
            {
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(NOW.timestamp()) + 30),
            },
            dt.timedelta(seconds=30),
        ),
        ({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1"}, None),
    ],
)
def test_it_reads_how_long_a_host_asks_to_wait(headers, expected):
    assert retry_after(httpx.Headers(headers), NOW) == expected


def test_it_writes_a_new_comment_when_its_comment_was_deleted(repository, github):
    note_id = provider_for(repository).upsert_note(12, "again", note_id="4242")

    assert note_id == "9001"
    assert github.calls() == [
        "PATCH /api/v3/repos/acme/backend/issues/comments/4242",
        "POST /api/v3/repos/acme/backend/issues/12/comments",
    ]
