"""Builders for test data: plain functions with a default for every field."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils import timezone

from fixtrail.accounts.models import Membership, Organization, Role, User
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project, ProjectKey
from fixtrail.releases.models import (
    Commit,
    MergeRequest,
    Release,
    Repository,
)

PASSWORD = "correct horse battery staple"


def make_user(email: str, password: str = PASSWORD, **overrides) -> User:
    return User.objects.create_user(email, password, **overrides)


def make_org(slug: str, owner: User, members: dict | None = None) -> Organization:
    org = Organization.objects.create(slug=slug, name=slug.title())
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    for user, role in (members or {}).items():
        Membership.objects.create(user=user, organization=org, role=role)
    return org


def make_project(org: Organization, slug: str = "backend", **overrides) -> Project:
    fields = {"name": slug.title(), "platform": "python", **overrides}
    project = Project.objects.create(organization=org, slug=slug, **fields)
    ProjectKey.objects.create(project=project)
    return project


def make_issue(project: Project, **overrides) -> Issue:
    now = timezone.now()
    short_id = project.next_short_id
    project.next_short_id += 1
    project.save(update_fields=["next_short_id"])
    fields = {
        "short_id": short_id,
        "title": "ValueError: bad thing",
        "culprit": "app.views in index",
        "type": "ValueError",
        "value": "bad thing",
        "first_seen": now,
        "last_seen": now,
        "times_seen": 1,
        **overrides,
    }
    return Issue.objects.create(project=project, **fields)


def make_repository(
    org: Organization, provider: str = "gitlab", url: str = "", **overrides
) -> Repository:
    """Link a repository to all of ``org``'s projects (or ``projects=``);
    its name defaults to the last two parts of the URL's path, as in
    ``group/project`` (a host may serve under a path prefix)."""
    url = url or f"https://gitlab.example.com/{overrides.get('name', 'acme/shop')}"
    path = urlsplit(url).path.strip("/").removesuffix(".git")
    name = overrides.pop("name", "/".join(path.split("/")[-2:]))
    projects = overrides.pop("projects", list(org.projects.all()))
    repository = Repository.objects.create(
        organization=org, provider=provider, url=url, name=name, **overrides
    )
    repository.projects.add(*projects)
    return repository


def make_release(
    org: Organization, version: str = "shop@1.0", projects=None, **overrides
) -> Release:
    """Create a release of ``projects`` (default: all of ``org``'s)."""
    release = Release.objects.create(organization=org, version=version, **overrides)
    release.projects.add(*(org.projects.all() if projects is None else projects))
    return release


def make_commit(
    repository: Repository,
    sha: str,
    message: str = "",
    files=(),
    release: Release | None = None,
    **overrides,
) -> Commit:
    """Store a commit through the real commit ingest (files, merge requests
    named in its message, fixes) and append it to ``release``'s commits;
    ``merge_request=`` then links one directly."""
    from fixtrail.jobs.models import Job
    from fixtrail.releases.commits import store_commits
    from fixtrail.releases.merge_requests import LOOKUP_KIND
    from fixtrail.releases.models import ReleaseCommit
    from fixtrail.releases.providers.base import CommitInfo

    merge_request = overrides.pop("merge_request", None)
    info = CommitInfo(
        sha=sha,
        message=message or f"Change {sha[:7]}",
        author_name=overrides.pop("author_name", "Alice Liddell"),
        author_email=overrides.pop("author_email", "alice@example.org"),
        authored_at=overrides.pop("authored_at", None),
        files=[(path, "M") for path in files],
    )
    (commit,) = store_commits(None, repository, [info])
    # A test's commit stands for one stored long ago: tests of the API
    # lookup of merge requests queue it themselves.
    Job.objects.filter(kind=LOOKUP_KIND).delete()
    if merge_request is not None:
        commit.merge_request = merge_request
        commit.save(update_fields=["merge_request"])
    if release is not None:
        ReleaseCommit.objects.create(
            release=release, commit=commit, order=release.release_commits.count()
        )
    return commit


def make_merge_request(
    repository: Repository, number: int, **overrides
) -> MergeRequest:
    fields = {"title": f"Change number {number}", "author": "dana", **overrides}
    return MergeRequest.objects.create(repository=repository, number=number, **fields)
