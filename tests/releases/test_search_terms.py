"""``commit:`` and ``mr:`` in the issue search."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fixtrail.issues.models import Issue
from fixtrail.issues.search import SearchError, filter_issues, parse_query
from fixtrail.releases.commits import store_commits
from fixtrail.releases.models import Release
from fixtrail.releases.providers.base import CommitInfo
from tests.api.conftest import digest_events, python_error
from tests.builders import make_commit, make_release, make_repository

pytestmark = pytest.mark.django_db

MERGE = "abc123" + "0" * 34
FIX = "def456" + "0" * 34


@pytest.fixture
def issues(org, project):
    digest_events(project, [python_error(release="shop@1.0")])
    digest_events(project, [python_error(type_="KeyError", release="shop@0.9")])
    repository = make_repository(org)
    release = Release.objects.get(version="shop@1.0")  # made by digest
    store_commits(
        release,
        repository,
        [CommitInfo(sha=MERGE, message="Merge branch 'a' into 'main'\n\n"
                    "See merge request acme/shop!12")],
    )  # fmt: skip
    key_error = Issue.objects.get(type="KeyError")
    make_commit(
        repository,
        FIX,
        message=f"Fix it\n\nFixes {key_error.short_id_display}\n\n"
        "See merge request acme/shop!13",
        release=make_release(org, "shop@1.1"),
    )
    return {issue.type: issue for issue in Issue.objects.all()}


def _search(query: str) -> set[str]:
    qs = filter_issues(
        Issue.objects.all(), parse_query(query), user=None, now=timezone.now()
    )
    return {issue.type for issue in qs}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("commit:abc123", {"ValueError"}),
        ("commit:ABC1230", {"ValueError"}),
        ("commit:def456", {"KeyError"}),
        ("commit:ffff", set()),
        ("!commit:abc123", {"KeyError"}),
        ("mr:!12", {"ValueError"}),
        ("mr:12", {"ValueError"}),
        ("mr:acme/shop!12", {"ValueError"}),
        ("mr:other/repo!12", set()),
        ("mr:!13", {"KeyError"}),
        ("mr:[!12, !13]", {"ValueError", "KeyError"}),
        ("mr:!14", set()),
    ],
)
def test_it_finds_issues_by_commit_and_merge_request(issues, query, found):
    assert _search(query) == found


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("commit:xyz", '"commit:" takes a commit sha (4 to 64 hex digits), not "xyz".'),
        ("commit:abc", '"commit:" takes a commit sha (4 to 64 hex digits), not "abc".'),
        ("mr:!x", '"mr:" takes !123 or group/project!123, not "!x".'),
        ("mr:acme/shop12", '"mr:" takes !123 or group/project!123, not "acme/shop12".'),
    ],
)
def test_it_refuses_bad_values(query, message):
    with pytest.raises(SearchError) as caught:
        parse_query(query)
    assert str(caught.value) == message
