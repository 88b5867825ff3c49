"""What people and sentry-cli do to releases: create, update (finalize,
set commits), delete, record deploys, link repositories. The API, the
pages and the command line all call these."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project
from fixtrail.releases.commits import CommitError, Ref, set_release_refs, store_commits
from fixtrail.releases.feedback import schedule_deploy_feedback
from fixtrail.releases.models import Deploy, Release, Repository
from fixtrail.releases.providers.base import CommitInfo

MAX_VERSION_CHARS = 250
MAX_ENVIRONMENT_CHARS = 64
# sentry-cli refuses these itself; a version must be something a URL and a
# search term can carry.
_BAD_VERSIONS = {"", ".", "..", "latest"}
_ENVIRONMENT = re.compile(r"[^\s/]{1,64}")


class ReleaseError(Exception):
    """A release request that cannot be done, with a message for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_version(version: str) -> str:
    """Return ``version`` stripped, or raise ReleaseError."""
    version = (version or "").strip()
    if version in _BAD_VERSIONS or any(c in version for c in "\n\r\t\x00"):
        raise ReleaseError(f"Invalid release version: {version[:80]!r}")
    if len(version) > MAX_VERSION_CHARS:
        raise ReleaseError(
            f"A release version has at most {MAX_VERSION_CHARS} characters."
        )
    return version


def projects_named(organization: Organization, slugs: list[str]) -> list[Project]:
    """Return the organization's projects named by ``slugs`` (or ids, as
    sentry-cli may send); raise ReleaseError for unknown ones."""
    slugs = [str(s) for s in slugs]
    found = {p.slug: p for p in Project.objects.filter(organization=organization)}
    by_id = {str(p.pk): p for p in found.values()}
    missing = [s for s in slugs if s not in found and s not in by_id]
    if missing:
        raise ReleaseError(f"Invalid project slugs: {', '.join(missing)}")
    return [found.get(s) or by_id[s] for s in slugs]


def _set_commits(
    release: Release, refs: list[dict] | None, commits: list[dict] | None
) -> None:
    try:
        if commits is not None:
            set_release_commits(release, commits)
        if refs is not None:
            if not all(isinstance(r, dict) for r in refs):
                raise CommitError("Each ref must be an object.")
            set_release_refs(
                release,
                [
                    Ref(
                        repository=str(r.get("repository") or ""),
                        commit=str(r.get("commit") or ""),
                        previous_commit=str(r.get("previousCommit") or ""),
                    )
                    for r in refs
                ],
            )
    except CommitError as exc:
        raise ReleaseError(exc.message) from None


def create_release(
    organization: Organization,
    version: str,
    projects: list[Project],
    *,
    now: dt.datetime,
    url: str = "",
    ref: str = "",
    started_at: dt.datetime | None = None,
    released_at: dt.datetime | None = None,
    refs: list[dict] | None = None,
    commits: list[dict] | None = None,
) -> tuple[Release, bool]:
    """Create the release (or add ``projects`` to the existing one with
    that version); return it and whether it was created."""
    version = check_version(version)
    if not projects:
        raise ReleaseError("A release needs at least one project.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                release, created = Release.objects.get_or_create(
                    organization=organization,
                    version=version,
                    defaults={
                        "url": url[:500],
                        "ref": ref[:250],
                        "created_at": now,
                        "started_at": started_at,
                        "released_at": released_at,
                    },
                )
        except IntegrityError:
            # Another request (or digest) created it at the same moment.
            release, created = (
                Release.objects.get(organization=organization, version=version),
                False,
            )
        release.projects.add(*projects)
        if not created and released_at and release.released_at is None:
            release.released_at = released_at
            release.save(update_fields=["released_at"])
        _set_commits(release, refs, commits)
    return release, created


def update_release(
    release: Release,
    *,
    url: str | None = None,
    ref: str | None = None,
    started_at: dt.datetime | None = None,
    released_at: dt.datetime | None = None,
    projects: list[Project] | None = None,
    refs: list[dict] | None = None,
    commits: list[dict] | None = None,
) -> Release:
    """Change what is given of ``release`` (finalize with ``released_at``,
    set commits with ``refs`` or ``commits``)."""
    fields = []
    for name, value in (
        ("url", url),
        ("ref", ref),
        ("started_at", started_at),
        ("released_at", released_at),
    ):
        if value is not None:
            setattr(release, name, value[:500] if isinstance(value, str) else value)
            fields.append(name)
    with transaction.atomic():
        if fields:
            release.save(update_fields=fields)
        if projects:
            release.projects.add(*projects)
        _set_commits(release, refs, commits)
    return release


def parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def set_release_commits(release: Release, commits: list[dict]) -> None:
    """Store the commits sentry-cli sent (``set-commits --local``) as the
    release's commits, by repository; an unknown name is the projects' only
    repository when they have one, else a new plain git repository linked
    to the release's projects."""
    by_repo: dict[str, list[CommitInfo]] = {}
    for raw in commits:
        if not isinstance(raw, dict):
            raise CommitError("Each commit must be an object.")
        sha = str(raw.get("id") or "").strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", sha):
            raise CommitError(f"Invalid commit id: {sha[:80]!r}")
        files = [
            (str(p.get("path") or ""), str(p.get("type") or "M")[:1])
            for p in raw.get("patch_set") or ()
            if isinstance(p, dict) and p.get("path")
        ]
        by_repo.setdefault(str(raw.get("repository") or "unknown")[:200], []).append(
            CommitInfo(
                sha=sha,
                message=str(raw.get("message") or ""),
                author_name=str(raw.get("author_name") or ""),
                author_email=str(raw.get("author_email") or ""),
                authored_at=parse_time(raw.get("timestamp")),
                files=files,
            )
        )
    linked = list(
        Repository.objects.filter(projects__in=release.projects.all()).distinct()[:2]
    )
    for name, infos in by_repo.items():
        repository = Repository.objects.filter(
            organization_id=release.organization_id, name__iexact=name
        ).first()
        if repository is None and len(linked) == 1:
            # sentry-cli --local names the repository after the remote's
            # name ("origin") unless configured otherwise; a project with
            # one repository means that one.
            repository = linked[0]
        if repository is None:
            repository = Repository.objects.create(
                organization_id=release.organization_id,
                provider=Repository.Provider.GIT,
                name=name,
                url="",
            )
            repository.projects.add(*release.projects.all())
        store_commits(release, repository, infos)


def delete_release(release: Release) -> None:
    """Delete a release with its deploys and commit links (the commits
    stay: other releases may contain them)."""
    release.delete()


def record_deploy(
    release: Release,
    environment: str,
    *,
    now: dt.datetime,
    name: str = "",
    url: str = "",
    started_at: dt.datetime | None = None,
    finished_at: dt.datetime | None = None,
) -> Deploy:
    """Record that ``release`` was deployed to ``environment`` and schedule
    the notes on its merge requests."""
    environment = (environment or "").strip()
    if not _ENVIRONMENT.fullmatch(environment):
        raise ReleaseError(
            "The environment must be 1 to 64 characters without spaces or slashes."
        )
    with transaction.atomic():
        deploy = Deploy.objects.create(
            release=release,
            environment=environment,
            name=(name or "")[:100],
            url=(url or "")[:500],
            started_at=started_at,
            finished_at=finished_at or now,
        )
        # The merge requests of the release hear about its errors once the
        # watch window has passed.
        schedule_deploy_feedback(deploy, now)
    return deploy


def releases_of(organization: Organization) -> QuerySet[Release]:
    """Return the organization's releases, newest first."""
    return Release.objects.filter(organization=organization).order_by(
        "-created_at", "-pk"
    )


def find_release(organization: Organization, version: str) -> Release | None:
    """Return the organization's release ``version``, or None.

    sentry-cli cannot put "/" in a path segment and sends U+FFFD in its
    place, so a version not found as given is tried with slashes.
    """
    release = Release.objects.filter(organization=organization, version=version).first()
    if release is None and "\ufffd" in version:
        release = Release.objects.filter(
            organization=organization, version=version.replace("\ufffd", "/")
        ).first()
    return release


# -- repositories -------------------------------------------------------------------

_REPO_NAME = re.compile(r"[\w.\-/]{1,200}")


def repository_name_from_url(url: str) -> str:
    """Return "group/project" from a repository's URL (how sentry-cli and
    the code hosts name it)."""
    path = urlsplit(url).path.strip("/").removesuffix(".git")
    return path or urlsplit(url).hostname or ""


def add_repository(
    organization: Organization,
    project: Project,
    *,
    provider: str,
    url: str,
    token: str = "",
    name: str = "",
) -> tuple[Repository, bool]:
    """Link a repository to ``project`` (creating it in the organization
    when new, else updating its URL and token); return it and whether it
    was created."""
    if provider not in Repository.Provider.values:
        raise ReleaseError(f"Unknown provider {provider!r}: use gitlab, github or git.")
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and (parts.port or 0) >= 0
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise ReleaseError("The repository URL must be an http(s) URL.")
    if len(url) > 500 or (token and len(token) > 1000):
        raise ReleaseError("That URL or token is too long.")
    name = (name or repository_name_from_url(url)).strip()
    if not _REPO_NAME.fullmatch(name):
        raise ReleaseError(f"Invalid repository name: {name[:80]!r}")
    with transaction.atomic():
        repository = Repository.objects.filter(
            organization=organization, name__iexact=name
        ).first()
        created = repository is None
        if created:
            repository = Repository.objects.create(
                organization=organization,
                provider=provider,
                name=name,
                url=url,
                token=token,
            )
        else:
            repository.provider, repository.url = provider, url
            fields = ["provider", "url"]
            if token:
                repository.token = token
                fields.append("token")
            repository.save(update_fields=fields)
        repository.projects.add(project)
    return repository, created


def remove_repository(repository: Repository, project: Project) -> None:
    """Unlink ``repository`` from ``project``; delete it (with its commits)
    when no project links it any more."""
    with transaction.atomic():
        repository.projects.remove(project)
        if not repository.projects.exists():
            repository.delete()
