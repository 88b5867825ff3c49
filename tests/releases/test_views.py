"""The release page, a project's release list, the repositories section
of the project settings and the release part of the issue page."""

from __future__ import annotations

import pytest
from django.test import Client

from fixtrail.issues.models import Status
from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Deploy, Release, Repository
from fixtrail.releases.providers.base import CommitInfo
from tests.api.conftest import digest_events, python_error
from tests.builders import make_release, make_repository

pytestmark = pytest.mark.django_db

MERGE = "e" * 40
OTHER = "f" * 40
FIX = "1" * 40


@pytest.fixture
def issue(org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    release = Release.objects.get()
    Deploy.objects.create(release=release, environment="production")
    store_commits(
        release,
        make_repository(org),
        [
            CommitInfo(
                sha=MERGE,
                message="Merge branch 'views' into 'main'\n\nRework <b>views</b>"
                "\n\nSee merge request acme/shop!7",
                author_name="Bob Builder",
                files=[("src/app/views.py", "M")],
            ),
            CommitInfo(sha=OTHER, message="Docs", files=[("README.md", "M")]),
        ],
    )
    return project.issues.get()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_release_suspects_and_merge_request_on_the_issue(alice, issue):
    page = _client(alice).get(f"/issues/{issue.pk}/").content.decode()
    assert "First seen in release" in page
    assert 'href="/organizations/acme/releases/shop%401.0/"' in page
    assert "deployed to production" in page
    assert "Introduced by" in page
    assert 'href="https://gitlab.example.com/acme/shop/-/merge_requests/7"' in page
    assert 'href="https://gitlab.example.com/acme/shop/-/commit/' + MERGE in page
    # Commit messages are hostile input too.
    assert "Rework &lt;b&gt;views&lt;/b&gt;" in page
    assert "<b>views</b>" not in page
    assert OTHER[:12] not in page


def test_it_shows_the_fixing_commit(alice, org, issue):
    repository = Repository.objects.get()
    store_commits(
        make_release(org, "shop@1.1"),
        repository,
        [
            CommitInfo(
                sha=FIX,
                message="Fix views\n\nFixes BACKEND-1\n\nSee merge request acme/shop!9",
            )
        ],
    )
    issue.refresh_from_db()
    assert issue.status == Status.RESOLVED
    page = _client(alice).get(f"/issues/{issue.pk}/").content.decode()
    assert "Fixed by" in page
    assert FIX[:12] in page
    assert "acme/shop!9" in page


def test_it_shows_the_release_page(alice, issue):
    response = _client(alice).get("/organizations/acme/releases/shop%401.0/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'Release <span class="release">shop@1.0</span>' in page
    assert MERGE[:12] in page and OTHER[:12] in page
    assert "acme/shop!7" in page
    assert "production" in page
    assert issue.short_id_display in page


def test_it_finds_a_release_with_a_slash_in_its_version(alice, org, project):
    make_release(org, "feature/cart+1")
    response = _client(alice).get("/organizations/acme/releases/feature%2Fcart%2B1/")
    assert response.status_code == 200
    assert "feature/cart+1" in response.content.decode()


def test_it_hides_the_release_page_from_outsiders(charlie, charlies_org, issue):
    response = _client(charlie).get("/organizations/acme/releases/shop%401.0/")
    assert response.status_code == 404


def test_it_lists_a_projects_releases(alice, issue):
    page = _client(alice).get("/organizations/acme/projects/backend/releases/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'href="/organizations/acme/releases/shop%401.0/"' in text


def test_it_links_a_repository_from_the_settings(alice, project):
    response = _client(alice).post(
        "/organizations/acme/projects/backend/repositories/",
        {"provider": "gitlab", "url": "https://gitlab.example.com/acme/shop",
         "token": "glpat-secret"},
    )  # fmt: skip
    assert response.status_code == 302
    repository = Repository.objects.get()
    assert (repository.name, repository.token) == ("acme/shop", "glpat-secret")
    page = _client(alice).get("/organizations/acme/projects/backend/settings/")
    text = page.content.decode()
    assert "acme/shop" in text
    assert "glpat-secret" not in text


def test_it_reports_a_bad_repository_url(alice, project):
    client = _client(alice)
    response = client.post(
        "/organizations/acme/projects/backend/repositories/",
        {"provider": "git", "url": "ssh://git@example.com/x.git"},
        follow=True,
    )
    assert "The repository URL must be an http(s) URL." in response.content.decode()
    assert Repository.objects.count() == 0


def test_it_lets_only_admins_link_repositories(bob, project):
    response = _client(bob).post(
        "/organizations/acme/projects/backend/repositories/",
        {"provider": "git", "url": "https://git.example.com/x.git"},
    )
    assert response.status_code == 403
    assert Repository.objects.count() == 0


def test_it_unlinks_a_repository(alice, org, project):
    repository = make_repository(org)
    response = _client(alice).post(
        f"/organizations/acme/projects/backend/repositories/{repository.pk}/unlink/"
    )
    assert response.status_code == 302
    assert Repository.objects.count() == 0
