"""Sentry's release endpoints under /api/0/: shapes, errors and who may
do what (sentry-cli's own runs are in test_sentry_cli_releases.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.events.models import SessionCount
from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Deploy, Release
from fixtrail.releases.providers.base import CommitInfo
from tests.api.conftest import T0, ApiClient, digest_events, issue_token, python_error
from tests.builders import make_commit, make_release, make_repository

pytestmark = pytest.mark.django_db

SHA1 = "a" * 40
SHA2 = "b" * 40


@pytest.fixture
def release(org, project):
    return make_release(org, "shop@1.0")


def test_it_creates_a_release_with_201_then_208(alice_api, project):
    body = {"version": "shop@1.0", "projects": ["backend"]}
    first = alice_api.post_json("/api/0/organizations/acme/releases/", body)
    again = alice_api.post_json("/api/0/organizations/acme/releases/", body)
    assert (first.status_code, again.status_code) == (201, 208)
    assert first.json()["version"] == "shop@1.0"
    assert first.json()["projects"][0]["slug"] == "backend"
    assert Release.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"version": "", "projects": ["backend"]}, "Invalid release version: ''"),
        ({"version": "1.0", "projects": []}, "A release needs at least one project."),
        ({"version": "1.0", "projects": ["nope"]}, "Invalid project slugs: nope"),
        ({"version": "1.0", "projects": "backend"}, "projects must be a list."),
        ({"version": "x" * 251, "projects": ["backend"]},
         "A release version has at most 250 characters."),
    ],
)  # fmt: skip
def test_it_refuses_bad_releases(alice_api, project, body, message):
    response = alice_api.post_json("/api/0/organizations/acme/releases/", body)
    assert response.status_code == 400
    assert response.json() == {"detail": message}
    assert Release.objects.count() == 0


def test_it_refuses_a_body_that_is_not_json(alice_api, project):
    response = alice_api.post(
        "/api/0/organizations/acme/releases/", "{", content_type="application/json"
    )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "The body must be JSON."},
    )


def test_it_refuses_refs_of_unknown_repositories(alice_api, release):
    response = alice_api.put_json(
        "/api/0/organizations/acme/releases/shop@1.0/",
        {"refs": [{"repository": "acme/nope", "commit": SHA1}]},
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid repository names: acme/nope"}
    assert release.release_commits.count() == 0


def test_it_hides_releases_from_outsiders(charlie_api, release):
    response = charlie_api.get("/api/0/organizations/acme/releases/shop@1.0/")
    assert response.status_code == 404


def test_it_lets_viewers_read_but_not_create(vera_api, release):
    assert vera_api.get("/api/0/organizations/acme/releases/").status_code == 200
    response = vera_api.post_json(
        "/api/0/organizations/acme/releases/",
        {"version": "2.0", "projects": ["backend"]},
    )
    assert response.status_code == 403
    assert Release.objects.count() == 1


def test_it_needs_a_release_or_project_scope(alice, release):
    api = ApiClient(issue_token(alice, scopes=["org:read"]))
    response = api.get("/api/0/organizations/acme/releases/")
    assert response.status_code == 403


def test_it_accepts_the_project_releases_scope(alice, project):
    api = ApiClient(issue_token(alice, scopes=["project:releases"]))
    response = api.post_json(
        "/api/0/organizations/acme/releases/",
        {"version": "2.0", "projects": ["backend"]},
    )
    assert response.status_code == 201


def test_it_serves_commits_deploys_and_health(alice_api, org, project, release):
    repository = make_repository(org)
    store_commits(
        release,
        repository,
        [
            CommitInfo(
                sha=SHA2,
                message="Merge branch 'cart' into 'main'\n\nFix the cart\n\n"
                "See merge request acme/shop!12",
                author_name="Bob",
                author_email="bob@example.org",
            ),
            CommitInfo(sha=SHA1, message="Start", author_email="alice@example.org"),
        ],
    )
    Deploy.objects.create(release=release, environment="production")
    day = dt.date.today()
    for status, count in (("started", 10), ("crashed", 1), ("exited", 9)):
        SessionCount.objects.create(
            project=project, day=day, release="shop@1.0", status=status, count=count
        )
    SessionCount.objects.create(
        project=project, day=day, release="shop@0.9", status="started", count=30
    )
    body = alice_api.get("/api/0/organizations/acme/releases/shop@1.0/").json()
    assert (body["commitCount"], body["deployCount"]) == (2, 1)
    assert body["lastCommit"]["id"] == SHA2
    assert body["lastCommit"]["pullRequest"]["id"] == "12"
    assert body["lastCommit"]["pullRequest"]["externalUrl"] == (
        "https://gitlab.example.com/acme/shop/-/merge_requests/12"
    )
    assert body["lastDeploy"]["environment"] == "production"
    assert [a["email"] for a in body["authors"]] == [
        "bob@example.org",
        "alice@example.org",
    ]
    health = body["projects"][0]["healthData"]
    assert (health["totalSessions"], health["sessionsCrashed"]) == (10, 1)
    assert (health["crashFreeSessions"], health["adoption"]) == (90.0, 25.0)
    commits = alice_api.get("/api/0/organizations/acme/releases/shop@1.0/commits/")
    assert [c["id"] for c in commits.json()] == [SHA2, SHA1]


def test_it_answers_previous_with_commits(alice_api, org, project):
    repository = make_repository(org)
    old = make_release(org, "shop@1.0", created_at=T0)
    make_commit(repository, SHA1, release=old)
    make_release(org, "shop@1.1", created_at=T0 + dt.timedelta(hours=1))
    response = alice_api.get(
        "/api/0/organizations/acme/releases/shop@1.1/previous-with-commits/"
    )
    assert response.json()["version"] == "shop@1.0"
    assert response.json()["lastCommit"]["id"] == SHA1
    first = alice_api.get(
        "/api/0/organizations/acme/releases/shop@1.0/previous-with-commits/"
    )
    assert first.json() == {}


def test_it_lists_repositories_in_sentrys_shape(alice_api, org, project):
    make_repository(org, token="glpat-secret")
    response = alice_api.get("/api/0/organizations/acme/repos/")
    [repo] = response.json()
    assert repo["name"] == "acme/shop"
    assert repo["provider"] == {"id": "integrations:gitlab", "name": "GitLab"}
    assert repo["url"] == "https://gitlab.example.com/acme/shop"
    assert "glpat-secret" not in response.content.decode()


def test_it_deletes_a_release(alice_api, release):
    response = alice_api.delete("/api/0/organizations/acme/releases/shop@1.0/")
    assert response.status_code == 204
    assert Release.objects.count() == 0


def test_it_refuses_a_deploy_without_environment(alice_api, release):
    response = alice_api.post_json(
        "/api/0/organizations/acme/releases/shop@1.0/deploys/", {"environment": ""}
    )
    assert response.status_code == 400
    assert Deploy.objects.count() == 0


def test_it_puts_release_commits_on_the_issue(alice_api, org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    release = Release.objects.get()
    make_commit(make_repository(org), SHA1, message="Add cart", release=release)
    issue_id = project.issues.get().pk
    body = alice_api.get(f"/api/0/issues/{issue_id}/").json()
    assert body["firstRelease"]["version"] == "shop@1.0"
    assert body["firstRelease"]["commitCount"] == 1
    assert body["firstRelease"]["lastCommit"]["id"] == SHA1
    assert body["lastRelease"]["lastCommit"]["message"] == "Add cart"


def test_it_creates_releases_from_events(project):
    digest_events(project, [python_error(release="shop@1.0")])
    digest_events(project, [python_error(release="shop@1.0"), python_error()])
    release = Release.objects.get()
    assert release.version == "shop@1.0"
    assert list(release.projects.all()) == [project]


def test_it_has_no_committers_without_commits(alice_api, project):
    [event_id] = digest_events(project, [python_error(release="shop@1.0")])
    response = alice_api.get(
        f"/api/0/projects/acme/backend/events/{event_id}/committers/"
    )
    assert response.status_code == 404


def test_it_puts_the_fixing_commit_in_the_status_details(alice_api, org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    issue = project.issues.get()
    make_commit(
        make_repository(org),
        SHA2,
        message=f"Fix the view\n\nFixes {issue.short_id_display}\n\n"
        "See merge request acme/shop!31",
    )
    body = alice_api.get(f"/api/0/issues/{issue.pk}/").json()
    assert body["status"] == "resolved"
    in_commit = body["statusDetails"]["inCommit"]
    assert (in_commit["id"], in_commit["pullRequest"]["id"]) == (SHA2, "31")
    assert in_commit["repository"]["name"] == "acme/shop"
