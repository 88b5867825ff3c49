"""Commits reaching Fixtrail: stored with their files and merge requests,
attached to releases, and read from the code host when only a range is
known.

Both entry points end in ``store_commits``: sentry-cli's ``set-commits
--local`` sends the commits themselves (the releases API calls it at
once), while ``--commit repo@from..to`` and ``--auto`` send only refs, so
``set_release_refs`` records the head and enqueues a job that reads the
range through the repository's provider and then calls it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fixtrail.jobs.registry import PermanentFailure, RetryLater, handler
from fixtrail.jobs.runner import enqueue
from fixtrail.releases import messages
from fixtrail.releases.fixes import resolve_fixed_issues
from fixtrail.releases.merge_requests import enqueue_merge_request_lookup
from fixtrail.releases.models import (
    Commit,
    CommitFile,
    MergeRequest,
    Release,
    ReleaseCommit,
    Repository,
)
from fixtrail.releases.providers.base import CommitInfo, ProviderError, provider_for

logger = logging.getLogger(__name__)

READ_COMMITS = "releases.read_commits"
# Files kept per commit: a vendored dependency bump can touch thousands,
# and suspect matching needs only the paths of ordinary changes.
MAX_FILES_PER_COMMIT = 1000
MAX_COMMITS_PER_CALL = 5000
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class CommitError(Exception):
    """Commits or refs that cannot be recorded, with a message for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Ref:
    """A head commit sentry-cli names for a repository (``refs``)."""

    repository: str
    commit: str
    previous_commit: str = ""


def _clip(text: str, limit: int) -> str:
    return (text or "")[:limit]


def _merge_request_ref(
    repository: Repository, message: str
) -> messages.MergeRequestRef | None:
    """Return the merge request a commit message names in this repository.

    On GitLab "#5" is an issue, so GitHub's forms ("Title (#5)", "Merge pull
    request #5") name no merge request there; the API lookup finds it.
    """
    ref = messages.merge_request_of(message)
    on_gitlab = repository.provider == Repository.Provider.GITLAB
    if ref is not None and ref.kind == messages.GITHUB and on_gitlab:
        return None
    return ref


def _store_merge_requests(
    repository: Repository, commits: dict[str, Commit], infos: list[CommitInfo]
) -> None:
    wanted: dict[int, tuple[messages.MergeRequestRef, CommitInfo]] = {}
    for info in infos:
        ref = _merge_request_ref(repository, info.message)
        if ref is not None and ref.number not in wanted:
            wanted[ref.number] = (ref, info)
    if not wanted:
        return
    existing = {
        mr.number: mr
        for mr in MergeRequest.objects.filter(
            repository=repository, number__in=list(wanted)
        )
    }
    for number, (ref, info) in wanted.items():
        if number not in existing:
            existing[number], _ = MergeRequest.objects.get_or_create(
                repository=repository,
                number=number,
                defaults={
                    "title": ref.title,
                    "url": messages.merge_request_url(repository.url, ref),
                    # The merge commit's time is when the MR was merged.
                    "merged_at": info.authored_at,
                },
            )
    for info in infos:
        ref = _merge_request_ref(repository, info.message)
        commit = commits[info.sha]
        if ref is not None and commit.merge_request_id is None:
            commit.merge_request = existing[ref.number]
            Commit.objects.filter(pk=commit.pk).update(
                merge_request=existing[ref.number]
            )


def store_commits(
    release: Release | None,
    repository: Repository,
    infos: list[CommitInfo],
    *,
    now: dt.datetime | None = None,
) -> list[Commit]:
    """Store ``infos`` (newest first) of ``repository`` and make them
    ``release``'s commits in that repository; return the Commit rows.

    Steps, in one transaction:

    1. create the commits not stored yet, with their changed files; a
       commit stored before as a bare sha gets its message and files;
    2. find each commit's merge request in its message and store it, and
       queue asking the host's API about the others;
    3. replace the release's commits of this repository with these;
    4. resolve the issues that newly stored commits say they fix.
    """
    now = now or timezone.now()
    infos = [i for i in infos if i.sha][:MAX_COMMITS_PER_CALL]
    with transaction.atomic():
        stored = {
            c.sha: c
            for c in Commit.objects.filter(
                repository=repository, sha__in=[i.sha for i in infos]
            )
        }
        fresh: list[Commit] = []
        for info in infos:
            commit = stored.get(info.sha)
            if commit is not None and (commit.message or not info.message):
                continue
            fields = {
                "message": info.message or "",
                "author_name": _clip(info.author_name, 200),
                "author_email": _clip(info.author_email, 200),
                "authored_at": info.authored_at,
            }
            if commit is None:
                commit = Commit.objects.create(
                    repository=repository, sha=info.sha, **fields
                )
                stored[info.sha] = commit
            else:
                Commit.objects.filter(pk=commit.pk).update(**fields)
                for name, value in fields.items():
                    setattr(commit, name, value)
            fresh.append(commit)
            CommitFile.objects.bulk_create(
                CommitFile(
                    commit=commit,
                    path=_clip(path, 500),
                    filename=_clip(path.rpartition("/")[2], 200),
                    change=change if change in ("A", "M", "D") else "M",
                )
                for path, change in info.files[:MAX_FILES_PER_COMMIT]
            )
        _store_merge_requests(repository, stored, infos)
        # Commits whose messages named no merge request: ask the host's API
        # (a job, only for repositories with a token).
        enqueue_merge_request_lookup(
            repository, [c.sha for c in fresh if c.merge_request_id is None]
        )
        if release is not None:
            ReleaseCommit.objects.filter(
                release=release, commit__repository=repository
            ).delete()
            shas = list(dict.fromkeys(i.sha for i in infos))
            ReleaseCommit.objects.bulk_create(
                ReleaseCommit(release=release, commit=stored[sha], order=order)
                for order, sha in enumerate(shas)
            )
        resolve_fixed_issues(repository, fresh, now=now)
    return [stored[i.sha] for i in infos]


def _repository_named(release: Release, name: str) -> Repository | None:
    return Repository.objects.filter(
        organization_id=release.organization_id, name__iexact=name
    ).first()


def previous_head(release: Release, repository: Repository) -> Commit | None:
    """Return the newest commit of ``repository`` in the latest release
    before ``release`` that has commits there (runs a query)."""
    row = (
        ReleaseCommit.objects.filter(
            release__organization_id=release.organization_id,
            commit__repository=repository,
        )
        .exclude(release=release)
        .filter(release__created_at__lte=release.created_at)
        .select_related("commit")
        .order_by("-release__created_at", "-release_id", "order")
        .first()
    )
    return row.commit if row else None


def set_release_refs(release: Release, refs: list[Ref]) -> list[int]:
    """Record ``refs`` as ``release``'s heads and enqueue the reading of
    each range; return the job ids.

    A ref without a previous commit reads from the head of the latest
    earlier release in that repository (or the provider's default depth
    for a first release). Raises CommitError naming unknown repositories.
    """
    repos = {ref.repository: _repository_named(release, ref.repository) for ref in refs}
    unknown = sorted(name for name, repo in repos.items() if repo is None)
    if unknown:
        raise CommitError(f"Invalid repository names: {', '.join(unknown)}")
    jobs = []
    with transaction.atomic():
        for ref in refs:
            repository = repos[ref.repository]
            assert repository is not None  # unknown names raised above
            start = ref.previous_commit
            if not start:
                head = previous_head(release, repository)
                start = head.sha if head else ""
            if _FULL_SHA.fullmatch(ref.commit.lower()):
                # Known at once, so lastCommit and previous-with-commits
                # answer before the range is read.
                store_commits(release, repository, [CommitInfo(sha=ref.commit.lower())])
            job = enqueue(
                READ_COMMITS,
                {
                    "release": release.pk,
                    "repository": repository.pk,
                    "start": start,
                    "end": ref.commit,
                },
                owner=f"release:{release.pk}",
            )
            jobs.append(job.pk)
    return jobs


@handler(READ_COMMITS)
def read_commits(payload: dict) -> dict:
    """Read a range of commits from the repository's provider and store
    them as the release's commits (a job: it calls the code host)."""
    release = Release.objects.filter(pk=payload["release"]).first()
    repository = Repository.objects.filter(pk=payload["repository"]).first()
    if release is None or repository is None:
        return {"skipped": "release or repository deleted"}
    try:
        infos = provider_for(repository).commits_between(
            payload.get("start") or None, payload["end"]
        )
    except ProviderError as exc:
        if exc.permanent:
            raise PermanentFailure(exc.message) from None
        # The host may answer next time: retried with the usual backoff.
        raise RetryLater(exc.message) from None
    if infos:
        store_commits(release, repository, infos)
    return {"commits": len(infos)}
