"""Builders for test data: plain functions with a default for every field."""

from __future__ import annotations

from django.utils import timezone

from fixtrail.accounts.models import Membership, Organization, Role, User
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project, ProjectKey
from fixtrail.releases.models import (
    Commit,
    MergeRequest,
    Release,
    ReleaseCommit,
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
    org: Organization, provider: str, url: str, **overrides
) -> Repository:
    fields = {"name": "acme/backend", "token": "", **overrides}
    return Repository.objects.create(
        organization=org, provider=provider, url=url, **fields
    )


def make_release(
    org: Organization, version: str, projects: tuple = (), **overrides
) -> Release:
    release = Release.objects.create(organization=org, version=version, **overrides)
    release.projects.set(projects)
    return release


def make_commit(
    repository: Repository,
    sha: str,
    release: Release | None = None,
    order: int = 0,
    **overrides,
) -> Commit:
    fields = {"message": f"Change {sha[:7]}", "author_name": "Dana", **overrides}
    commit = Commit.objects.create(repository=repository, sha=sha, **fields)
    if release is not None:
        ReleaseCommit.objects.create(release=release, commit=commit, order=order)
    return commit


def make_merge_request(
    repository: Repository, number: int, **overrides
) -> MergeRequest:
    fields = {"title": f"Change number {number}", "author": "dana", **overrides}
    return MergeRequest.objects.create(repository=repository, number=number, **fields)
