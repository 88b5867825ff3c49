"""GitHub (github.com or GitHub Enterprise Server) over its REST API.

The repository comes from its web URL; github.com's API is
api.github.com, an Enterprise server's is ``/api/v3`` on its own host::

    https://github.com/acme/backend        api https://api.github.com
    https://git.example.com/acme/backend   api https://git.example.com/api/v3

Calls (https://docs.github.com/en/rest, with ``Authorization: Bearer``):

- ``GET /repos/{owner}/{repo}/compare/{base}...{head}``: commits of a
  range, oldest first, paged;
- ``GET /repos/{owner}/{repo}/commits?sha=``: history without a start;
- ``GET /repos/{owner}/{repo}/commits/{sha}``: one commit's files;
- ``GET /repos/{owner}/{repo}/commits/{sha}/pulls``;
- ``POST /repos/{owner}/{repo}/issues/{number}/comments`` and
  ``PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}``.
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

SERVICE = "GitHub"
# The API version these calls are written against
# (https://docs.github.com/en/rest/about-the-rest-api/api-versions).
API_VERSION = "2022-11-28"
PER_PAGE = 100
# As in the GitLab client: history read without a start, and the most
# commits of one range that are given their files.
FIRST_RELEASE_COMMITS = 20
MAX_COMMITS = 250
# GitHub's statuses of a file in a commit, as Fixtrail's A/M/D.
CHANGES = {"added": "A", "removed": "D"}


def repository_location(web_url: str) -> tuple[str, str]:
    """Return (API base URL, "owner/repo") for a repository's web URL.

    Raises a permanent ProviderError for a URL that names no repository.
    """
    parts = urlsplit(web_url.strip())
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or len(segments) < 2:
        raise ProviderError(
            f"{web_url!r} is not a GitHub repository URL (https://host/owner/repo)",
            permanent=True,
        )
    owner, repo = segments[0], segments[1].removesuffix(".git")
    if parts.hostname in ("github.com", "www.github.com"):
        api = "https://api.github.com"
    else:
        api = f"{parts.scheme}://{parts.netloc}/api/v3"
    return api, f"{owner}/{repo}"


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@register("github")
class GitHub:
    """A GitHub repository's commits, pull requests and comments."""

    def __init__(self, repository: Repository) -> None:
        self.api, self.repo = repository_location(repository.url)
        self.headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if repository.token:
            self.headers["Authorization"] = f"Bearer {repository.token}"

    def _url(self, tail: str) -> str:
        return f"{self.api}/repos/{self.repo}/{tail}"

    def _get(self, tail: str, what: str, params: dict | None = None) -> object:
        response = rest.call(
            SERVICE, "GET", self._url(tail), what=what, headers=self.headers,
            params=params,
        )  # fmt: skip
        return rest.json_of(SERVICE, response)

    def _files(self, sha: str) -> list[tuple[str, str]]:
        answer = self._get(f"commits/{quote(sha, safe='')}", f"commit {sha}")
        files = answer.get("files", []) if isinstance(answer, dict) else []
        return [
            (str(f["filename"]), CHANGES.get(f.get("status"), "M"))
            for f in files
            if isinstance(f, dict) and f.get("filename")
        ]

    def commits_between(self, start: str | None, end: str) -> list[CommitInfo]:
        """Return the commits after ``start`` up to ``end``, newest first,
        each with its changed files (one call per commit)."""
        what = f"repository {self.repo}"
        if start:
            listed: list = []
            basehead = f"{quote(start, safe='')}...{quote(end, safe='')}"
            for page in rest.pages(
                SERVICE,
                self._url(f"compare/{basehead}"),
                what=f"{what} or its commits {start}...{end}",
                headers=self.headers,
                params={"per_page": str(PER_PAGE)},
            ):
                if isinstance(page, dict):
                    listed.extend(page.get("commits") or [])
            rows = list(reversed(listed))[:MAX_COMMITS]
        else:
            answer = self._get(
                "commits", what, {"sha": end, "per_page": str(FIRST_RELEASE_COMMITS)}
            )
            rows = answer if isinstance(answer, list) else []
        commits = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("sha"):
                continue
            detail = row.get("commit") if isinstance(row.get("commit"), dict) else {}
            author = (
                detail.get("author") if isinstance(detail.get("author"), dict) else {}
            )
            commits.append(
                CommitInfo(
                    sha=str(row["sha"]),
                    message=str(detail.get("message") or ""),
                    author_name=str(author.get("name") or ""),
                    author_email=str(author.get("email") or ""),
                    authored_at=_time(author.get("date")),
                    files=self._files(str(row["sha"])),
                )
            )
        return commits

    def merge_requests_of(self, sha: str) -> list[MergeRequestInfo]:
        """Return the merged pull requests that brought commit ``sha`` in."""
        answer = self._get(
            f"commits/{quote(sha, safe='')}/pulls",
            f"commit {sha} in {self.repo}",
            {"per_page": str(PER_PAGE)},
        )
        found = []
        for row in answer if isinstance(answer, list) else []:
            if not isinstance(row, dict) or not isinstance(row.get("number"), int):
                continue
            if not row.get("merged_at"):
                continue
            user = row.get("user") if isinstance(row.get("user"), dict) else {}
            found.append(
                MergeRequestInfo(
                    number=row["number"],
                    title=str(row.get("title") or ""),
                    author=str(user.get("login") or ""),
                    url=str(row.get("html_url") or ""),
                    merged_at=_time(row.get("merged_at")),
                )
            )
        return found

    def upsert_note(self, number: int, body: str, note_id: str = "") -> str:
        """Edit comment ``note_id`` (or write a new comment on pull request
        ``number`` when there is none or it was deleted); return its id."""
        what = f"pull request #{number} of {self.repo}"
        if note_id:
            try:
                rest.call(
                    SERVICE,
                    "PATCH",
                    self._url(f"issues/comments/{quote(note_id, safe='')}"),
                    what=f"comment {note_id} on {what}",
                    headers=self.headers,
                    json={"body": body},
                )
                return note_id
            except rest.ProviderRefused as exc:
                # The comment was deleted (404), or the token now belongs to
                # someone who may not edit it (403): write a new one. When
                # the token cannot write at all, that write says so.
                if exc.status not in (403, 404):
                    raise
        response = rest.call(
            SERVICE,
            "POST",
            self._url(f"issues/{number}/comments"),
            what=what,
            headers=self.headers,
            json={"body": body},
        )
        answer = rest.json_of(SERVICE, response)
        if not isinstance(answer, dict) or "id" not in answer:
            raise ProviderError(f"{SERVICE} did not say which comment it created")
        return str(answer["id"])
