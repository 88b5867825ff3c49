"""Suspect commits: the commits that probably introduced an issue.

For the issue's latest event, the crash frames are matched against the
files changed by the commits of the issue's first release and of the few
releases before it in the same project (fixtrail.releases.ranking does the
matching and ordering). Where the repository is a plain git one that the
server has fetched, ``git blame`` of the crashing line names the commit
that last changed it, which then ranks first.

    for suspect in suspect_commits(issue):
        suspect.commit.sha, suspect.commit.merge_request, suspect.reason
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.releases import ranking
from fixtrail.releases.models import Commit, CommitFile, Release, Repository

# Releases searched: the first release and this many before it.
EARLIER_RELEASES = 4
# Commits read per search; a monorepo release can hold thousands, and only
# those touching the crash's files are loaded.
MAX_CANDIDATES = 500


@dataclass(frozen=True)
class Suspect:
    """A suspect commit, with why it is suspected."""

    commit: Commit
    release: str
    path: str
    blamed: bool
    score: int

    @property
    def reason(self) -> str:
        if self.blamed:
            return f"last changed the crashing line of {self.path}"
        return f"changed {self.path}, in the stack trace"


def event_frames(data: dict[str, Any]) -> list[ranking.Frame]:
    """Return the crash frames of an event's data, outermost first (the
    stack trace of the last exception, else of the crashing thread)."""
    stacks: list[Any] = []
    exceptions = (data.get("exception") or {}) if isinstance(data, dict) else {}
    values = exceptions.get("values") if isinstance(exceptions, dict) else None
    for value in values or ():
        if isinstance(value, dict) and isinstance(value.get("stacktrace"), dict):
            stacks.append(value["stacktrace"])
    if not stacks and isinstance(data.get("threads"), dict):
        for thread in data["threads"].get("values") or ():
            if isinstance(thread, dict) and isinstance(thread.get("stacktrace"), dict):
                stacks.append(thread["stacktrace"])
    if not stacks:
        return []
    frames = []
    for raw in (stacks[-1].get("frames") or ())[-ranking.MAX_FRAMES * 4 :]:
        if not isinstance(raw, dict):
            continue
        lineno = raw.get("lineno")
        in_app = raw.get("in_app")
        frames.append(
            ranking.Frame(
                abs_path=str(raw.get("abs_path") or "")[:500],
                filename=str(raw.get("filename") or "")[:500],
                module=str(raw.get("module") or "")[:200],
                lineno=lineno if type(lineno) is int else None,
                in_app=in_app if isinstance(in_app, bool) else None,
            )
        )
    return frames


def _releases(issue: Issue) -> list[Release]:
    first = Release.objects.filter(
        organization_id=issue.project.organization_id,
        version=issue.first_release,
    ).first()
    if first is None:
        return []
    earlier = (
        Release.objects.filter(
            projects=issue.project_id,
            created_at__lt=first.created_at,
            release_commits__isnull=False,
        )
        .distinct()
        .order_by("-created_at", "-pk")[:EARLIER_RELEASES]
    )
    return [first, *earlier]


def _blamed_sha(
    release: Release, frame: ranking.Frame, files: list[CommitFile]
) -> tuple[int, str] | None:
    """Ask git blame which commit last changed the crashing line; return
    (repository id, sha) or None."""
    from fixtrail.releases.providers.git import GitProvider

    if frame.lineno is None:
        return None
    heads = {c.repository_id: c for c in release.head_commits()}
    for changed in files:
        head = heads.get(changed.commit.repository_id)
        repository = changed.commit.repository
        if head is None or repository.provider != Repository.Provider.GIT:
            continue
        if ranking.suffix_match(frame, changed.path):
            provider = GitProvider(repository)
            sha = provider.blame_line(head.sha, changed.path, frame.lineno)
            if sha:
                return repository.pk, sha
    return None


def suspect_commits(issue: Issue, limit: int = 3) -> list[Suspect]:
    """Return up to ``limit`` suspect commits of ``issue``, most suspect
    first (several queries; runs ``git blame`` on a local mirror)."""
    releases = _releases(issue)
    if not releases:
        return []
    event = Event.objects.filter(issue=issue).order_by("-timestamp", "-pk").first()
    frames = event_frames(event.get_data()) if event is not None else []
    if not frames:
        return []
    names = set()
    for frame in frames:
        for spelling in ranking.frame_paths(frame):
            names.add(spelling[-1])
    distance = {r.pk: n for n, r in enumerate(releases)}
    files = list(
        CommitFile.objects.filter(
            filename__in=names,
            commit__release_commits__release__in=releases,
        )
        .select_related("commit__repository", "commit__merge_request__repository")
        .distinct()[:MAX_CANDIDATES]
    )
    release_of: dict[int, int] = {}
    for commit_id, release_id in Commit.objects.filter(
        pk__in={f.commit_id for f in files}
    ).values_list("pk", "release_commits__release"):
        if release_id in distance:
            best = release_of.get(commit_id)
            if best is None or distance[release_id] < distance[best]:
                release_of[commit_id] = release_id
    commits = {f.commit_id: f.commit for f in files}
    paths: dict[int, list[str]] = {}
    for changed in files:
        paths.setdefault(changed.commit_id, []).append(changed.path)
    crashing = ranking.ordered_frames(frames)[0]
    blamed = _blamed_sha(releases[0], crashing, files)
    if blamed is not None:
        repository_id, sha = blamed
        commit = (
            Commit.objects.filter(repository_id=repository_id, sha=sha)
            .select_related("repository", "merge_request__repository")
            .first()
        )
        if commit is not None and commit.pk not in commits:
            commits[commit.pk] = commit
            paths[commit.pk] = list(commit.files.values_list("path", flat=True))
    candidates = [
        ranking.Candidate(
            key=str(pk),
            paths=tuple(paths.get(pk, ())),
            release_distance=distance.get(release_of.get(pk), len(releases)),
            authored_at=commit.authored_at,
            blamed=blamed is not None and commit.sha == blamed[1],
        )
        for pk, commit in commits.items()
    ]
    version = {r.pk: r.version for r in releases}
    suspects = []
    for rank, found in enumerate(ranking.rank_suspects(frames, candidates, limit)):
        commit = commits[int(found.key)]
        suspects.append(
            Suspect(
                commit=commit,
                release=version.get(release_of.get(commit.pk), ""),
                path=found.path,
                blamed=found.blamed,
                score=max(limit - rank, 1),
            )
        )
    return suspects


def committers_payload(issue: Issue) -> dict:
    """Return Sentry's ``committers`` answer for ``issue``: suspect
    commits grouped by author, most suspect first."""
    from fixtrail.api.release_payloads import commit_payload

    groups: dict[str, dict] = {}
    for suspect in suspect_commits(issue):
        commit = suspect.commit
        key = commit.author_email or commit.author_name or "unknown"
        group = groups.setdefault(
            key,
            {
                "author": {"name": commit.author_name, "email": commit.author_email},
                "commits": [],
            },
        )
        group["commits"].append(
            {
                **commit_payload(commit),
                "score": suspect.score,
                "suspectCommitType": "via commit in release"
                if not suspect.blamed
                else "via SCM integration",
            }
        )
    return {"committers": list(groups.values())}
