from __future__ import annotations

import pytest

from fixtrail.issues.models import Issue
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.releases.feedback import NOTE_KIND
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_commit, make_merge_request, make_repository
from tests.releases.standins import GitLabStandIn
from tests.releases.support import SHA_7, seed_release

TOKEN = "glpat-api-token"
BASE = "/api/v1/organizations/acme"


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def release(org, project, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)
    return seed_release(org, project, repository)


@pytest.fixture
def mr(release):
    return release.release_commits.get(commit__sha=SHA_7).commit.merge_request


def test_it_lists_merge_requests(alice, mr):
    response = ApiClient(issue_token(alice)).get(f"{BASE}/merge-requests")

    assert response.status_code == 200
    rows = response.json()
    assert [(r["reference"], r["title"]) for r in rows] == [
        ("!8", "Change 8"),
        ("!7", "Change 7"),
    ]
    assert rows[1] == {
        "id": mr.pk,
        "repository": "acme/backend",
        "provider": "gitlab",
        "number": 7,
        "reference": "!7",
        "title": "Change 7",
        "author": "dana",
        "url": "",
        "merged_at": None,
        "commit_count": 1,
        "note": {
            "note_id": "",
            "sent_at": None,
            "job_state": None,
            "job_error": "",
            "can_write": True,
            "cannot_write_reason": "",
        },
    }


def test_it_lists_the_merge_requests_of_a_release(alice, org, mr):
    other = make_repository(org, "github", "https://github.com/a/b", name="a/b")
    make_merge_request(other, 99)

    response = ApiClient(issue_token(alice)).get(f"{BASE}/merge-requests?release=2.0")
    nothing = ApiClient(issue_token(alice)).get(f"{BASE}/merge-requests?release=9")

    assert sorted(r["number"] for r in response.json()) == [7, 8]
    assert nothing.json() == []


def test_it_shows_a_merge_request_with_commits_and_issues(alice, mr):
    response = ApiClient(issue_token(alice)).get(f"{BASE}/merge-requests/{mr.pk}")

    assert response.status_code == 200
    body = response.json()
    assert [c["sha"] for c in body["commits"]] == [SHA_7]
    [release] = body["releases"]
    key_error = Issue.objects.get(type="KeyError")
    value_error = Issue.objects.get(type="ValueError")
    assert release["version"] == "2.0"
    assert [i["id"] for i in release["new"]] == [key_error.pk]
    assert release["new"][0]["short_id"] == key_error.short_id_display
    assert release["new"][0]["times_seen"] == 3
    assert [i["id"] for i in release["regressed"]] == [value_error.pk]
    assert (release["new_total"], release["regressed_total"]) == (1, 1)


def test_it_queues_a_note_and_reports_how_it_went(bob, mr, gitlab):
    api = ApiClient(issue_token(bob, ["project:releases", "project:read"]))

    response = api.post(f"{BASE}/merge-requests/{mr.pk}/note")
    runner.run_until_idle()
    after = api.get(f"{BASE}/merge-requests/{mr.pk}").json()["note"]

    assert response.status_code == 202
    job = Job.objects.get(kind=NOTE_KIND)
    assert response.json() == {
        "job_id": job.pk,
        "merge_request": mr.pk,
        "state": "pending",
    }
    assert after["note_id"] == "9001"
    assert after["job_state"] == "done"
    assert after["sent_at"] is not None
    assert list(gitlab.notes) == [7]


def test_it_queues_the_notes_of_a_release(alice, release, gitlab):
    response = ApiClient(issue_token(alice)).post_json(
        f"{BASE}/releases/2.0/merge-request-notes", {"environment": "production"}
    )
    runner.run_until_idle()

    assert response.status_code == 202
    body = response.json()
    assert [q["state"] for q in body["queued"]] == ["pending", "pending"]
    assert body["skipped"] == []
    assert sorted(gitlab.notes) == [7, 8]
    assert "in `production` since release `2.0`" in gitlab.notes[7][9001]


def test_it_says_why_it_cannot_write_a_note(alice, org):
    plain = make_repository(org, "git", "https://git.example.com/x.git", name="x")
    mr = make_merge_request(plain, 1)
    make_commit(plain, "9" * 40, merge_request=mr)

    response = ApiClient(issue_token(alice)).post(f"{BASE}/merge-requests/{mr.pk}/note")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "x is a plain git repository: there is no merge request to write on"
    }
    assert Job.objects.count() == 0


def test_it_answers_404_for_an_unknown_release(alice, release):
    response = ApiClient(issue_token(alice)).post_json(
        f"{BASE}/releases/9.9/merge-request-notes", {}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "tail"),
    [
        ("get", "merge-requests"),
        ("get", "merge-requests/{mr}"),
        ("post", "merge-requests/{mr}/note"),
        ("post", "releases/2.0/merge-request-notes"),
    ],
)
def test_it_answers_404_to_another_organization(
    charlie, charlies_org, mr, method, tail
):
    api = ApiClient(issue_token(charlie))

    response = getattr(api, method)(
        f"{BASE}/{tail.format(mr=mr.pk)}", content_type="application/json"
    )

    assert response.status_code == 404
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    "tail", ["merge-requests/{mr}/note", "releases/2.0/merge-request-notes"]
)
def test_it_refuses_viewers_a_note(vera, mr, tail):
    response = ApiClient(issue_token(vera)).post(
        f"{BASE}/{tail.format(mr=mr.pk)}", content_type="application/json"
    )

    assert response.status_code == 403
    assert Job.objects.count() == 0


def test_it_refuses_a_token_without_the_releases_scope(alice, mr):
    api = ApiClient(issue_token(alice, ["project:read", "project:write"]))

    response = api.post(f"{BASE}/merge-requests/{mr.pk}/note")

    assert response.status_code == 403
    assert "project:releases" in response.json()["detail"]


@pytest.mark.parametrize("junk", ["abc", "0", "9" * 30, "-1"])
def test_it_answers_404_for_junk_ids(alice, mr, junk):
    response = ApiClient(issue_token(alice)).get(f"{BASE}/merge-requests/{junk}")

    assert response.status_code == 404
