"""Storing commits: files, merge requests, release links, and
fix-by-commit."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.issues.models import Activity, Status
from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Commit, CommitFile, MergeRequest, ReleaseCommit
from fixtrail.releases.providers.base import CommitInfo
from tests.builders import (
    make_issue,
    make_org,
    make_project,
    make_release,
    make_repository,
)

pytestmark = pytest.mark.django_db

A, B, C = "a" * 40, "b" * 40, "c" * 40
T = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


@pytest.fixture
def repository(org, project):
    return make_repository(org)


def test_it_stores_commits_with_files_newest_first(org, repository):
    release = make_release(org)
    store_commits(
        release,
        repository,
        [
            CommitInfo(sha=B, message="Second", author_name="Bob",
                       files=[("src/a.py", "M"), ("src/b.py", "A")]),
            CommitInfo(sha=A, message="First", authored_at=T,
                       files=[("old.py", "D")]),
        ],
    )  # fmt: skip
    rows = ReleaseCommit.objects.filter(release=release).order_by("order")
    assert [(r.commit.sha, r.order) for r in rows] == [(B, 0), (A, 1)]
    assert set(CommitFile.objects.values_list("path", "filename", "change")) == {
        ("src/a.py", "a.py", "M"),
        ("src/b.py", "b.py", "A"),
        ("old.py", "old.py", "D"),
    }
    assert Commit.objects.get(sha=A).authored_at == T


def test_it_replaces_a_releases_commits_of_the_repository(org, repository):
    release = make_release(org)
    store_commits(release, repository, [CommitInfo(sha=A, message="First")])
    store_commits(release, repository, [CommitInfo(sha=B, message="Second")])
    assert [r.commit.sha for r in release.release_commits.all()] == [B]
    # The commit itself stays: another release may contain it.
    assert Commit.objects.count() == 2


def test_it_fills_in_a_commit_first_known_by_its_sha(org, repository):
    store_commits(None, repository, [CommitInfo(sha=A)])
    store_commits(
        None, repository, [CommitInfo(sha=A, message="First", files=[("a.py", "M")])]
    )
    commit = Commit.objects.get()
    assert (commit.message, commit.files.count()) == ("First", 1)


def test_it_does_not_store_a_commit_twice(org, repository):
    info = CommitInfo(sha=A, message="First", files=[("a.py", "M")])
    store_commits(None, repository, [info])
    store_commits(None, repository, [info])
    assert (Commit.objects.count(), CommitFile.objects.count()) == (1, 1)


def test_it_links_commits_to_their_merge_request(org, repository):
    store_commits(
        None,
        repository,
        [CommitInfo(sha=A, authored_at=T,
                    message="Merge branch 'x' into 'main'\n\nAdd x\n\n"
                    "See merge request acme/shop!4")],
    )  # fmt: skip
    mr = MergeRequest.objects.get()
    assert (mr.number, mr.title, mr.merged_at) == (4, "Add x", T)
    assert mr.url == "https://gitlab.example.com/acme/shop/-/merge_requests/4"
    assert Commit.objects.get().merge_request == mr


@pytest.mark.parametrize(
    ("provider", "url", "expected"),
    [
        (
            "github",
            "https://github.com/acme/shop",
            "https://github.com/acme/shop/pull/5",
        ),
        # On GitLab "#5" is an issue: the API lookup finds the merge request.
        ("gitlab", "https://gitlab.example.com/acme/shop", None),
    ],
)
def test_it_reads_githubs_squash_title_only_in_a_github_repository(
    org, project, provider, url, expected
):
    repository = make_repository(org, provider=provider, url=url)
    store_commits(None, repository, [CommitInfo(sha=A, message="Add x (#5)")])
    commit = Commit.objects.select_related("merge_request").get()
    assert (commit.merge_request.url if commit.merge_request else None) == expected


def test_it_resolves_the_issues_a_commit_fixes(org, project, repository):
    first = make_issue(project)
    second = make_issue(project)
    untouched = make_issue(project)
    message = (
        f"Round prices\n\nFixes {first.short_id_display.lower()} and "
        f"resolves {second.short_id_display}, BACKEND-ZZZ"
    )
    store_commits(None, repository, [CommitInfo(sha=A, message=message)])
    for issue in (first, second, untouched):
        issue.refresh_from_db()
    assert (first.status, first.resolved_in_commit) == (Status.RESOLVED, A)
    assert (second.status, second.resolved_in_commit) == (Status.RESOLVED, A)
    assert untouched.status == Status.UNRESOLVED
    activity = Activity.objects.get(issue=first, kind=Activity.Kind.RESOLVED)
    assert (activity.user, activity.data) == (None, {"how": "in_commit", "commit": A})


def test_it_resolves_once_when_a_commit_comes_again(org, project, repository):
    issue = make_issue(project)
    info = CommitInfo(sha=A, message=f"Fixes {issue.short_id_display}")
    store_commits(make_release(org, "1.0"), repository, [info])
    store_commits(make_release(org, "1.1"), repository, [info])
    assert Activity.objects.filter(kind=Activity.Kind.RESOLVED).count() == 1


def test_it_never_resolves_another_organizations_issue(
    org, project, repository, charlie
):
    other_org = make_org("other", owner=charlie)
    other = make_issue(make_project(other_org, "backend"))
    store_commits(None, repository, [CommitInfo(sha=A, message="Fixes BACKEND-1")])
    other.refresh_from_db()
    assert other.status == Status.UNRESOLVED
