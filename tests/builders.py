"""Builders for test data: plain functions with a default for every field."""

from __future__ import annotations

from django.utils import timezone

from fixtrail.accounts.models import Membership, Organization, Role, User
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project, ProjectKey

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


def make_repository(org: Organization, name: str = "acme/shop", **overrides):
    from fixtrail.releases.models import Repository

    fields = {
        "provider": "gitlab",
        "url": f"https://gitlab.example.com/{name}",
    } | overrides
    projects = fields.pop("projects", list(org.projects.all()))
    repository = Repository.objects.create(organization=org, name=name, **fields)
    repository.projects.add(*projects)
    return repository


def make_release(org: Organization, version: str = "shop@1.0", **overrides):
    from fixtrail.releases.models import Release

    projects = overrides.pop("projects", list(org.projects.all()))
    release = Release.objects.create(organization=org, version=version, **overrides)
    release.projects.add(*projects)
    return release


def make_commit(repository, sha: str, message: str = "Change", files=(), **overrides):
    """Store a commit through the real commit ingest (files and merge
    requests included) and return it."""
    from fixtrail.releases.commits import store_commits
    from fixtrail.releases.providers.base import CommitInfo

    release = overrides.pop("release", None)
    info = CommitInfo(
        sha=sha,
        message=message,
        author_name=overrides.pop("author_name", "Alice Liddell"),
        author_email=overrides.pop("author_email", "alice@example.org"),
        authored_at=overrides.pop("authored_at", None),
        files=[(path, "M") for path in files],
    )
    (commit,) = store_commits(release, repository, [info])
    return commit
