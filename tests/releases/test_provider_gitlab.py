from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.releases.providers.base import ProviderError, provider_for
from fixtrail.releases.providers.gitlab import project_location
from fixtrail.releases.providers.rest import ProviderRefused, ProviderUnavailable
from tests.builders import make_repository
from tests.releases.standins import FakeCommit, FakeMergeRequest, GitLabStandIn

TOKEN = "glpat-stand-in-token"
SHAS = [f"{n:040x}" for n in range(0xA1, 0xA5)]


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN, project="acme/backend", prefix="git")
    standin.start()
    standin.add_commit(FakeCommit(SHAS[0], "Initial", files=[("app/main.py", "A")]))
    standin.add_commit(
        FakeCommit(
            SHAS[1],
            "Average the cart\n\nSee merge request acme/backend!7",
            files=[("shop/cart.py", "M"), ("shop/old.py", "D")],
        )
    )
    standin.add_commit(FakeCommit(SHAS[2], "Tidy", files=[("README.md", "M")]))
    standin.add_commit(
        FakeCommit(SHAS[3], "Many files", files=[(f"f{i}.py", "A") for i in range(150)])
    )
    yield standin
    standin.stop()


@pytest.fixture
def repository(org, gitlab):
    return make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)


@pytest.mark.parametrize(
    ("url", "name", "expected"),
    [
        (
            "https://gitlab.com/acme/backend",
            "",
            ("https://gitlab.com/api/v4", "acme/backend"),
        ),
        (
            "https://gitlab.com/acme/sub/backend.git",
            "anything",
            ("https://gitlab.com/api/v4", "acme/sub/backend"),
        ),
        (
            "https://example.com/git/acme/backend/-/tree/main",
            "acme/backend",
            ("https://example.com/git/api/v4", "acme/backend"),
        ),
        (
            "http://10.0.0.5:8080/acme/backend/",
            "acme/backend",
            ("http://10.0.0.5:8080/api/v4", "acme/backend"),
        ),
    ],
)
def test_it_finds_the_api_and_project_in_a_web_url(url, name, expected):
    assert project_location(url, name) == expected


@pytest.mark.parametrize("url", ["https://gitlab.com/", "https://gitlab.com/solo"])
def test_it_refuses_a_url_without_project(url):
    with pytest.raises(ProviderError, match="is not a GitLab project URL") as info:
        project_location(url)
    assert info.value.permanent is True


def test_it_reads_a_range_of_commits_newest_first_with_files(repository, gitlab):
    commits = provider_for(repository).commits_between(SHAS[0], SHAS[2])

    assert [c.sha for c in commits] == [SHAS[2], SHAS[1]]
    assert commits[1].message == "Average the cart\n\nSee merge request acme/backend!7"
    assert commits[1].author_name == "Dana Developer"
    assert commits[1].author_email == "dana@example.org"
    assert commits[1].authored_at == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert commits[1].files == [("shop/cart.py", "M"), ("shop/old.py", "D")]
    # The project path goes URL-encoded, under the self-hosted prefix.
    assert gitlab.calls() == [
        "GET /git/api/v4/projects/acme%2Fbackend/repository/compare",
        f"GET /git/api/v4/projects/acme%2Fbackend/repository/commits/{SHAS[2]}/diff",
        f"GET /git/api/v4/projects/acme%2Fbackend/repository/commits/{SHAS[1]}/diff",
    ]
    assert gitlab.requests[0].query == {"from": [SHAS[0]], "to": [SHAS[2]]}
    assert all(seen.headers["private-token"] == TOKEN for seen in gitlab.requests)
    assert gitlab.unexpected == []


def test_it_reads_recent_history_when_there_is_no_start(repository, gitlab):
    commits = provider_for(repository).commits_between(None, SHAS[1])

    assert [c.sha for c in commits] == [SHAS[1], SHAS[0]]
    assert gitlab.requests[0].query == {"ref_name": [SHAS[1]], "per_page": ["20"]}
    assert gitlab.unexpected == []


def test_it_follows_pages_of_a_commit_diff(repository, gitlab):
    commits = provider_for(repository).commits_between(SHAS[2], SHAS[3])

    assert len(commits[0].files) == 150
    assert commits[0].files[149] == ("f149.py", "A")
    diff_calls = [s for s in gitlab.requests if s.path.endswith("/diff")]
    assert [s.query.get("page") for s in diff_calls] == [None, ["2"]]


def test_it_finds_the_merged_merge_request_of_a_commit(repository, gitlab):
    gitlab.add_merge_request(
        FakeMergeRequest(7, "Average the cart", "dana", shas=[SHAS[1]])
    )
    gitlab.add_merge_request(
        FakeMergeRequest(9, "Still open", "eve", merged_at=None, shas=[SHAS[1]])
    )

    found = provider_for(repository).merge_requests_of(SHAS[1])

    assert len(found) == 1
    assert found[0].number == 7
    assert found[0].title == "Average the cart"
    assert found[0].author == "dana"
    assert found[0].url == f"{gitlab.web_url}/-/merge_requests/7"
    assert found[0].merged_at == dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
    assert gitlab.calls() == [
        "GET /git/api/v4/projects/acme%2Fbackend/repository/commits/"
        f"{SHAS[1]}/merge_requests"
    ]


def test_it_writes_a_note_then_edits_the_same_note(repository, gitlab):
    provider = provider_for(repository)

    first = provider.upsert_note(7, "first body")
    second = provider.upsert_note(7, "second body", note_id=first)

    assert first == second == "9001"
    assert gitlab.notes == {7: {9001: "second body"}}
    assert gitlab.calls() == [
        "POST /git/api/v4/projects/acme%2Fbackend/merge_requests/7/notes",
        "PUT /git/api/v4/projects/acme%2Fbackend/merge_requests/7/notes/9001",
    ]
    assert [s.body for s in gitlab.requests] == [
        {"body": "first body"},
        {"body": "second body"},
    ]
    assert gitlab.unexpected == []


def test_it_writes_a_new_note_when_its_note_was_deleted(repository, gitlab):
    note_id = provider_for(repository).upsert_note(7, "again", note_id="1234")

    assert note_id == "9001"
    assert gitlab.calls("POST") == [
        "POST /git/api/v4/projects/acme%2Fbackend/merge_requests/7/notes"
    ]


def test_it_calls_a_bad_token_a_permanent_error(org, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token="wrong")

    with pytest.raises(ProviderRefused) as info:
        provider_for(repository).merge_requests_of(SHAS[1])

    assert info.value.permanent is True
    assert info.value.message == (
        "GitLab refused the access token (HTTP 401: 401 Unauthorized): set a "
        "valid token on the repository"
    )


def test_it_calls_an_unknown_project_a_permanent_error(org, gitlab):
    repository = make_repository(
        org, "gitlab", f"{gitlab.base_url}/git/acme/other", name="acme/other",
        token=TOKEN,
    )  # fmt: skip

    with pytest.raises(ProviderRefused, match="GitLab has no project acme/other"):
        provider_for(repository).merge_requests_of(SHAS[1])


def test_it_calls_a_rate_limit_a_wait_of_retry_after(repository, gitlab):
    gitlab.fail_next(
        "GET", ".*/merge_requests", 429, {"Retry-After": "42"}, {"message": "slow"}
    )

    with pytest.raises(ProviderUnavailable) as info:
        provider_for(repository).merge_requests_of(SHAS[1])

    assert info.value.permanent is False
    assert info.value.retry_after == dt.timedelta(seconds=42)
    assert info.value.message == (
        "GitLab rate limit reached (HTTP 429: slow); will retry"
    )


def test_it_calls_a_server_error_worth_retrying(repository, gitlab):
    gitlab.fail_next("POST", ".*/notes", 502)

    with pytest.raises(
        ProviderUnavailable, match=r"GitLab server error \(HTTP 502\); will retry"
    ):
        provider_for(repository).upsert_note(7, "body")

    assert gitlab.notes == {}


def test_it_writes_a_new_note_when_it_may_no_longer_edit_its_note(repository, gitlab):
    gitlab.fail_next("PUT", ".*/notes/55", 403, {}, {"message": "403 Forbidden"})

    note_id = provider_for(repository).upsert_note(7, "again", note_id="55")

    assert note_id == "9001"
    assert gitlab.calls() == [
        "PUT /git/api/v4/projects/acme%2Fbackend/merge_requests/7/notes/55",
        "POST /git/api/v4/projects/acme%2Fbackend/merge_requests/7/notes",
    ]
