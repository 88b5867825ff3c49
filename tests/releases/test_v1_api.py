"""Repositories, releases and suspects under /api/v1/."""

from __future__ import annotations

import pytest

from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Release, Repository
from fixtrail.releases.providers.base import CommitInfo
from tests.api.conftest import digest_events, python_error
from tests.builders import make_repository

pytestmark = pytest.mark.django_db

REPOS = "/api/v1/projects/acme/backend/repositories"


def test_it_links_a_repository_without_showing_the_token(alice_api, project):
    response = alice_api.post_json(
        REPOS,
        {"provider": "gitlab", "url": "https://gitlab.example.com/acme/shop",
         "token": "glpat-secret"},
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["has_token"]) == ("acme/shop", True)
    assert "glpat-secret" not in response.content.decode()
    listed = alice_api.get(REPOS)
    assert [r["name"] for r in listed.json()] == ["acme/shop"]
    assert "glpat-secret" not in listed.content.decode()
    assert Repository.objects.get().token == "glpat-secret"


def test_it_refuses_a_bad_provider(alice_api, project):
    response = alice_api.post_json(
        REPOS, {"provider": "svn", "url": "https://svn.example.com/x"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Unknown provider 'svn': use gitlab, github or git."
    }
    assert Repository.objects.count() == 0


def test_it_lets_only_admins_link(bob_api, project):
    response = bob_api.post_json(
        REPOS, {"provider": "git", "url": "https://git.example.com/a.git"}
    )
    assert response.status_code == 403
    assert Repository.objects.count() == 0


def test_it_hides_repositories_from_outsiders(charlie_api, org, project):
    make_repository(org)
    assert charlie_api.get(REPOS).status_code == 404


def test_it_unlinks_a_repository(alice_api, org, project):
    repository = make_repository(org)
    response = alice_api.delete(f"{REPOS}/{repository.pk}")
    assert response.status_code == 204
    assert Repository.objects.count() == 0


def test_it_lists_suspects_of_an_issue(alice_api, org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    release = Release.objects.get()
    store_commits(
        release,
        make_repository(org),
        [
            CommitInfo(sha="c" * 40, message="Docs", files=[("README.md", "M")]),
            CommitInfo(
                sha="d" * 40,
                message="Speed up the index\n\nSee merge request acme/shop!5",
                author_email="bob@example.org",
                files=[("src/app/views.py", "M")],
            ),
        ],
    )
    issue = project.issues.get()
    [suspect] = alice_api.get(f"/api/v1/issues/{issue.pk}/suspects").json()
    assert suspect["sha"] == "d" * 40
    assert suspect["path"] == "src/app/views.py"
    assert suspect["merge_request"] == 5
    assert suspect["merge_request_url"] == (
        "https://gitlab.example.com/acme/shop/-/merge_requests/5"
    )
    assert suspect["release"] == "shop@1.0"


def test_it_serves_a_release(alice_api, org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    body = alice_api.get("/api/v1/organizations/acme/releases/shop@1.0").json()
    assert (body["version"], body["newGroups"]) == ("shop@1.0", 1)
