"""GitLab (gitlab.com or self-hosted) over its REST API v4.

The project comes from the repository's web URL; a GitLab served under a
path prefix is told apart by the repository's name::

    https://gitlab.com/acme/backend                  api https://gitlab.com/api/v4
                                                     project acme/backend
    https://example.com/git/acme/backend  (name acme/backend)
                                                     api https://example.com/git/api/v4
                                                     project acme/backend

Calls (https://docs.gitlab.com/api/, with ``PRIVATE-TOKEN: <token>``):

- ``GET /projects/:id/repository/compare?from=&to=``: commits of a range,
  oldest first;
- ``GET /projects/:id/repository/commits?ref_name=``: history without a start;
- ``GET /projects/:id/repository/commits/:sha/diff``: one commit's files;
- ``GET /projects/:id/repository/commits/:sha/merge_requests``;
- ``POST /projects/:id/merge_requests/:iid/notes`` and
  ``PUT /projects/:id/merge_requests/:iid/notes/:note_id``.

``:id`` is the URL-encoded project path (``acme%2Fbackend``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlsplit

from fixtrail.releases.models import Repository
from fixtrail.releases.providers import rest
from fixtrail.releases.providers.base import (
    CommitInfo,
    MergeRequestInfo,
    ProviderError,
    register,
)

SERVICE = "GitLab"
# GitLab's largest page size.
PER_PAGE = 100
# Commits read for a release that has no previous one to compare with (the
# newest part of the history is what can have introduced its errors).
FIRST_RELEASE_COMMITS = 20
# Commits of one range given their files; a compare of thousands of commits
# would cost thousands of diff calls.
MAX_COMMITS = 250


def project_location(web_url: str, name: str = "") -> tuple[str, str]:
    """Return (API base URL, project path) for a project's web URL.

    ``name`` tells a path prefix apart: when the URL's path ends with it,
    what comes before is the prefix. Raises a permanent ProviderError for a
    URL with no project path.
    """
    parts = urlsplit(web_url.strip())
    path = parts.path.split("/-/", 1)[0].strip("/")
    path = path.removesuffix(".git")
    name = name.strip("/")
    prefix = ""
    if "/" in name and (path == name or path.endswith("/" + name)):
        prefix, path = path[: -len(name)].rstrip("/"), name
    if parts.scheme not in ("http", "https") or "/" not in path:
        raise ProviderError(
            f"{web_url!r} is not a GitLab project URL (https://host/group/project)",
            permanent=True,
        )
    base = f"{parts.scheme}://{parts.netloc}"
    api = f"{base}/{prefix}/api/v4" if prefix else f"{base}/api/v4"
    return api, path


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _change(diff: dict) -> str:
    if diff.get("new_file"):
        return "A"
    if diff.get("deleted_file"):
        return "D"
    return "M"


@register("gitlab")
class GitLab:
    """A GitLab project's commits, merge requests and notes."""

    def __init__(self, repository: Repository) -> None:
        self.api, self.project = project_location(repository.url, repository.name)
        self.headers = {"Accept": "application/json"}
        if repository.token:
            self.headers["PRIVATE-TOKEN"] = repository.token

    def _url(self, tail: str) -> str:
        return f"{self.api}/projects/{quote(self.project, safe='')}/{tail}"

    def _list(self, tail: str, params: dict[str, str], max_pages: int) -> list[dict]:
        items: list[dict] = []
        for page in rest.pages(
            SERVICE,
            self._url(tail),
            what=f"project {self.project}",
            headers=self.headers,
            params={"per_page": str(PER_PAGE), **params},
            max_pages=max_pages,
        ):
            items.extend(item for item in page or [] if isinstance(item, dict))
        return items

    def _files(self, sha: str) -> list[tuple[str, str]]:
        diffs = self._list(f"repository/commits/{quote(sha, safe='')}/diff", {}, 3)
        return [
            (str(d.get("new_path") or d.get("old_path")), _change(d))
            for d in diffs
            if d.get("new_path") or d.get("old_path")
        ]

    def commits_between(self, start: str | None, end: str) -> list[CommitInfo]:
        """Return the commits after ``start`` up to ``end``, newest first,
        each with its changed files (one diff call per commit)."""
        if start:
            answer = rest.json_of(
                SERVICE,
                rest.call(
                    SERVICE,
                    "GET",
                    self._url("repository/compare"),
                    what=f"project {self.project} or its commits {start}..{end}",
                    headers=self.headers,
                    params={"from": start, "to": end},
                ),
            )
            listed = answer.get("commits", []) if isinstance(answer, dict) else []
            # The compare lists oldest first; the newest are the ones kept.
            rows = list(reversed(listed))[:MAX_COMMITS]
        else:
            rows = self._list(
                "repository/commits",
                {"ref_name": end, "per_page": str(FIRST_RELEASE_COMMITS)},
                max_pages=1,
            )
        commits = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("id"):
                continue
            sha = str(row["id"])
            commits.append(
                CommitInfo(
                    sha=sha,
                    message=str(row.get("message") or row.get("title") or ""),
                    author_name=str(row.get("author_name") or ""),
                    author_email=str(row.get("author_email") or ""),
                    authored_at=_time(row.get("authored_date")),
                    files=self._files(sha),
                )
            )
        return commits

    def merge_requests_of(self, sha: str) -> list[MergeRequestInfo]:
        """Return the merged merge requests that brought commit ``sha`` in
        (an open one that also contains it did not bring it in)."""
        rows = self._list(
            f"repository/commits/{quote(sha, safe='')}/merge_requests", {}, 1
        )
        found = []
        for row in rows:
            if row.get("state") != "merged" or not isinstance(row.get("iid"), int):
                continue
            author = row.get("author") if isinstance(row.get("author"), dict) else {}
            found.append(
                MergeRequestInfo(
                    number=row["iid"],
                    title=str(row.get("title") or ""),
                    author=str(author.get("username") or author.get("name") or ""),
                    url=str(row.get("web_url") or ""),
                    merged_at=_time(row.get("merged_at")),
                )
            )
        return found

    def upsert_note(self, number: int, body: str, note_id: str = "") -> str:
        """Edit note ``note_id`` on merge request ``number`` (or write a new
        note when there is none or it was deleted); return the note's id."""
        what = f"merge request !{number} of {self.project}"
        notes = f"merge_requests/{number}/notes"
        if note_id:
            try:
                rest.call(
                    SERVICE,
                    "PUT",
                    self._url(f"{notes}/{quote(note_id, safe='')}"),
                    what=f"note {note_id} on {what}",
                    headers=self.headers,
                    json={"body": body},
                )
                return note_id
            except rest.ProviderRefused as exc:
                # The note was deleted (404), or the token now belongs to
                # someone who may not edit it (403): write a new one. When
                # the token cannot write at all, that write says so.
                if exc.status not in (403, 404):
                    raise
        response = rest.call(
            SERVICE,
            "POST",
            self._url(notes),
            what=what,
            headers=self.headers,
            json={"body": body},
        )
        answer = rest.json_of(SERVICE, response)
        if not isinstance(answer, dict) or "id" not in answer:
            raise ProviderError(f"{SERVICE} did not say which note it created")
        return str(answer["id"])
