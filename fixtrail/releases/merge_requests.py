"""Merge requests: finding the one that brought a commit in, through the
code host's API, and the issues attributed to a merge request.

Commit storage calls ``enqueue_merge_request_lookup(repository, shas)``
inside its transaction; a job then asks GitLab or GitHub, for each of those
commits still without a merge request, which merged merge request brought
it in, and stores it. Commit messages ("See merge request acme/app!12",
"(#12)") are read where commits are stored; the API fills what messages
do not say (title, author, link, merge time) and catches squash and rebase
merges whose messages name nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from fixtrail.issues.models import Activity, Issue
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import enqueue
from fixtrail.releases.models import Commit, MergeRequest, Release, Repository
from fixtrail.releases.providers.base import MergeRequestInfo, provider_for

LOOKUP_KIND = "releases.lookup_merge_requests"
# Providers with an API that knows a commit's merge requests.
API_PROVIDERS = frozenset({Repository.Provider.GITLAB, Repository.Provider.GITHUB})
# Commits asked about per job: one API call each, so a job stays well
# inside the runner's 5-minute lease even at a second per call.
SHAS_PER_JOB = 50
# A merge request's issues come from the releases that contain its commits;
# a merge request is normally in one release, rarely in more than a few.
MAX_RELEASES = 10


def repository_owner(repository: Repository) -> str:
    """Return the job owner string of a repository's jobs."""
    return f"releases.repository:{repository.pk}"


def reference(merge_request: MergeRequest) -> str:
    """Return how its host names a merge request: "!7" (GitLab) or "#7"
    (GitHub); reads merge_request.repository."""
    github = merge_request.repository.provider == Repository.Provider.GITHUB
    return f"{'#' if github else '!'}{merge_request.number}"


def can_use_api(repository: Repository) -> bool:
    """Return True when Fixtrail can call the repository's host API: a
    GitLab or GitHub repository with an access token."""
    return repository.provider in API_PROVIDERS and bool(repository.token)


def enqueue_merge_request_lookup(
    repository: Repository, shas: Iterable[str]
) -> list[Job]:
    """Queue jobs that find the merge requests of the commits ``shas``.

    Call it in the transaction that stored the commits, after storing them
    (the job sees them once that transaction commits). Does nothing for a
    repository without an API token; returns the jobs made.
    """
    if not can_use_api(repository):
        return []
    unique = list(dict.fromkeys(s for s in shas if s))
    return [
        enqueue(
            LOOKUP_KIND,
            {"repository": repository.pk, "shas": unique[i : i + SHAS_PER_JOB]},
            owner=repository_owner(repository),
        )
        for i in range(0, len(unique), SHAS_PER_JOB)
    ]


def _first_merged(infos: list[MergeRequestInfo]) -> MergeRequestInfo:
    # A commit can be in several merged merge requests (a backport, a
    # release branch); the first merged is the one that brought it in.
    return min(infos, key=lambda i: (i.merged_at is None, i.merged_at, i.number))


def store_merge_request(repository: Repository, info: MergeRequestInfo) -> MergeRequest:
    """Create or update the merge request ``info`` describes.

    Fields the host left empty keep what Fixtrail had (a title read from a
    merge commit's message); the note Fixtrail wrote on it is never touched.
    """
    details = {
        "title": info.title[:500],
        "author": info.author[:200],
        "url": info.url[:500] if info.url.startswith(("https://", "http://")) else "",
        "merged_at": info.merged_at,
    }
    details = {name: value for name, value in details.items() if value}
    merge_request, created = MergeRequest.objects.get_or_create(
        repository=repository, number=info.number, defaults=details
    )
    changed = [n for n, v in details.items() if getattr(merge_request, n) != v]
    if not created and changed:
        for name in changed:
            setattr(merge_request, name, details[name])
        merge_request.save(update_fields=changed)
    return merge_request


def lookup_merge_requests(repository: Repository, shas: list[str]) -> dict:
    """Ask the host for the merge requests of the commits ``shas`` that have
    none yet (or only a number read from their message), store them and link
    each commit to the merge request that brought it in.

    Commits already done are skipped, so a retried job only asks about the
    rest. Raises ProviderError from the host; what was stored before the
    error stays.
    """
    provider = provider_for(repository)
    pending = (
        Commit.objects.filter(repository=repository, sha__in=shas[:SHAS_PER_JOB])
        .filter(Q(merge_request__isnull=True) | Q(merge_request__url=""))
        .select_related("merge_request")
        .order_by("pk")
    )
    asked = linked = 0
    for commit in pending:
        infos = provider.merge_requests_of(commit.sha)
        asked += 1
        if commit.merge_request is not None:
            # The message named it: fill in its details, keep the link.
            same = [i for i in infos if i.number == commit.merge_request.number]
            if same:
                store_merge_request(repository, same[0])
            continue
        if not infos:
            continue
        merge_request = store_merge_request(repository, _first_merged(infos))
        linked += Commit.objects.filter(
            pk=commit.pk, merge_request__isnull=True
        ).update(merge_request=merge_request)
    return {"asked": asked, "linked": linked}


# Attribution -------------------------------------------------------------


@dataclass
class ReleaseIssues:
    """The issues a release brought: first seen in it, or regressed in it
    (the most frequent ``limit`` of each, and how many there are in all)."""

    release: Release
    new: list[Issue]
    regressed: list[Issue]
    new_total: int
    regressed_total: int


def releases_of(merge_request: MergeRequest) -> QuerySet[Release]:
    """Return the releases that contain the merge request's commits, oldest
    first (at most MAX_RELEASES)."""
    ids = Release.objects.filter(
        release_commits__commit__merge_request=merge_request
    ).values("pk")
    return Release.objects.filter(pk__in=ids).order_by("created_at", "pk")[
        :MAX_RELEASES
    ]


def release_issues(
    release: Release, environment: str = "", limit: int = 100
) -> ReleaseIssues:
    """Return the issues first seen in ``release`` and those that regressed
    in it, in the release's projects, most events first.

    With ``environment``, only issues with events in that environment.
    Runs four queries.
    """
    base = Issue.objects.filter(
        project__in=release.projects.values("pk")
    ).select_related("project")
    if environment:
        base = base.filter(tag_values__key="environment", tag_values__value=environment)
    new = base.filter(first_release=release.version)
    regressed = base.filter(
        pk__in=Activity.objects.filter(
            kind=Activity.Kind.REGRESSION, data__release=release.version
        ).values("issue_id")
    ).exclude(first_release=release.version)
    order = ("-times_seen", "pk")
    return ReleaseIssues(
        release,
        new=list(new.order_by(*order)[:limit]),
        regressed=list(regressed.order_by(*order)[:limit]),
        new_total=new.count(),
        regressed_total=regressed.count(),
    )


def attributed_issues(
    merge_request: MergeRequest, environment: str = "", limit: int = 100
) -> list[ReleaseIssues]:
    """Return, per release containing the merge request's commits, the
    issues first seen or regressed in it: the errors attributed to the
    merge request until suspect commits narrow them down."""
    return [
        release_issues(release, environment, limit)
        for release in releases_of(merge_request)
    ]
