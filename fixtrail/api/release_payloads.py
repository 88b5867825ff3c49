"""Releases, deploys, repositories and commits in Sentry's JSON shapes
(what sentry-cli and GitLab's error tracking read)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Min

from fixtrail.api.serializers import iso, short_version
from fixtrail.issues.models import Issue, TagValue
from fixtrail.releases.health import release_health
from fixtrail.releases.models import Commit, Deploy, MergeRequest, Release, Repository

# Sentry's provider ids: sentry-cli's --auto only reads repositories of
# these kinds (src/utils/vcs.rs, find_reference_url).
PROVIDER_IDS = {
    Repository.Provider.GITLAB: "integrations:gitlab",
    Repository.Provider.GITHUB: "integrations:github",
    Repository.Provider.GIT: "git",
}


def repository_payload(repository: Repository) -> dict:
    """Return a repository as Sentry's ``/repos/`` lists it (never the
    token)."""
    return {
        "id": str(repository.pk),
        "name": repository.name,
        "url": repository.url or None,
        "provider": {
            "id": PROVIDER_IDS.get(repository.provider, repository.provider),
            "name": repository.get_provider_display(),
        },
        "status": "active",
        "dateCreated": iso(repository.created_at),
        "integrationId": None,
        "externalSlug": repository.name,
        "externalId": None,
    }


def merge_request_payload(mr: MergeRequest | None) -> dict | None:
    """Return a merge request as Sentry's ``pullRequest``."""
    if mr is None:
        return None
    return {
        "id": str(mr.number),
        "title": mr.title,
        "message": None,
        "dateCreated": iso(mr.merged_at),
        "externalUrl": mr.url or None,
        "author": {"name": mr.author} if mr.author else None,
        "repository": repository_payload(mr.repository),
    }


def commit_payload(commit: Commit) -> dict:
    """Return a commit as Sentry does (reads commit.repository and
    commit.merge_request: select them)."""
    return {
        "id": commit.sha,
        "message": commit.message or None,
        "dateCreated": iso(commit.authored_at),
        "author": {"name": commit.author_name, "email": commit.author_email}
        if commit.author_name or commit.author_email
        else None,
        "repository": repository_payload(commit.repository),
        "pullRequest": merge_request_payload(commit.merge_request),
        "suspectCommitType": "",
    }


def deploy_payload(deploy: Deploy) -> dict:
    return {
        "id": str(deploy.pk),
        "environment": deploy.environment,
        "name": deploy.name or None,
        "url": deploy.url or None,
        "dateStarted": iso(deploy.started_at),
        "dateFinished": iso(deploy.finished_at),
    }


def _authors(commits: list[Commit]) -> list[dict]:
    seen: dict[str, dict] = {}
    for commit in commits:
        if commit.author_email and commit.author_email not in seen:
            seen[commit.author_email] = {
                "name": commit.author_name,
                "email": commit.author_email,
            }
    return list(seen.values())


def release_payload(
    release: Release, *, now: dt.datetime, health: bool = False
) -> dict:
    """Return a release as Sentry's release endpoints do, its projects with
    their ``healthData`` when ``health`` (several queries)."""
    projects = list(release.projects.order_by("slug"))
    project_ids = [p.pk for p in projects]
    rows = list(
        release.release_commits.select_related(
            "commit__repository", "commit__merge_request__repository"
        ).order_by("order", "pk")
    )
    commits = [row.commit for row in rows]
    last_deploy = release.deploys.order_by("-finished_at", "-pk").first()
    per_project = dict(
        Issue.objects.filter(project_id__in=project_ids, first_release=release.version)
        .values("project_id")
        .annotate(n=Count("pk"))
        .values_list("project_id", "n")
    )
    seen = TagValue.objects.filter(
        issue__project_id__in=project_ids, key="release", value=release.version
    ).aggregate(first=Min("first_seen"), last=Max("last_seen"))
    project_rows = []
    for project in projects:
        row = {
            "id": project.pk,
            "slug": project.slug,
            "name": project.name,
            "newGroups": per_project.get(project.pk, 0),
            "platform": getattr(project, "platform", None) or None,
            "platforms": [],
            "hasHealthData": False,
        }
        if health:
            row["healthData"] = release_health(project.pk, release.version, now)
            row["hasHealthData"] = row["healthData"]["hasHealthData"]
        project_rows.append(row)
    return {
        "id": release.pk,
        "version": release.version,
        "shortVersion": short_version(release.version),
        "status": "open",
        "ref": release.ref or None,
        "url": release.url or None,
        "dateCreated": iso(release.created_at),
        "dateStarted": iso(release.started_at),
        "dateReleased": iso(release.released_at),
        "firstEvent": iso(seen["first"]),
        "lastEvent": iso(seen["last"]),
        "newGroups": sum(per_project.values()),
        "data": {},
        "owner": None,
        "userAgent": None,
        "commitCount": len(commits),
        "lastCommit": commit_payload(commits[0]) if commits else None,
        "authors": _authors(commits),
        "deployCount": release.deploys.count(),
        "lastDeploy": deploy_payload(last_deploy) if last_deploy else None,
        "projects": project_rows,
        "currentProjectMeta": {},
        "versionInfo": {
            "package": release.version.partition("@")[0]
            if "@" in release.version
            else None,
            "version": {"raw": release.version},
            "description": short_version(release.version),
            "buildHash": None,
        },
    }


def with_release_record(issue: Issue, nested: dict) -> dict:
    """Return an issue's nested release (``firstRelease``/``lastRelease``)
    with what the stored release knows: commits, last commit, deploys
    (a few queries; unchanged when no release row exists)."""
    release = Release.objects.filter(
        organization_id=issue.project.organization_id, version=nested["version"]
    ).first()
    if release is None:
        return nested
    rows = list(
        release.release_commits.select_related(
            "commit__repository", "commit__merge_request__repository"
        ).order_by("order", "pk")
    )
    last_deploy = release.deploys.order_by("-finished_at", "-pk").first()
    return {
        **nested,
        "id": release.pk,
        "ref": release.ref or None,
        "url": release.url or None,
        "dateCreated": iso(release.created_at),
        "dateReleased": iso(release.released_at),
        "commitCount": len(rows),
        "lastCommit": commit_payload(rows[0].commit) if rows else None,
        "authors": _authors([r.commit for r in rows]),
        "deployCount": release.deploys.count(),
        "lastDeploy": deploy_payload(last_deploy) if last_deploy else None,
    }


def in_commit_payload(issue: Issue) -> dict:
    """Return the commit an issue was resolved in, in Sentry's commit shape
    (just its id when the commit is not stored); runs a query."""
    commit = (
        Commit.objects.filter(
            sha=issue.resolved_in_commit,
            repository__organization_id=issue.project.organization_id,
        )
        .select_related("repository", "merge_request__repository")
        .first()
    )
    return commit_payload(commit) if commit else {"id": issue.resolved_in_commit}
