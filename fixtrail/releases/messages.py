"""What commit messages say: the merge request that brought a commit in,
and the issues a commit fixes. Pure functions over text.

The merge-request formats are the ones the code hosts write themselves::

    Merge branch 'cart' into 'main'            GitLab merge commit
    <blank>
    Fix the cart total
    <blank>
    See merge request shop/web!123

    Merge pull request #45 from acme/cart      GitHub merge commit
    <blank>
    Fix the cart total

    Fix the cart total (#45)                   GitHub squash merge

and the fix keywords are the ones people already write for issue trackers::

    Round prices before summing

    Fixes BACKEND-1A, BACKEND-2 and resolves FRONTEND-7
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

GITLAB = "gitlab"
GITHUB = "github"

# "See merge request group/sub/project!123" (GitLab's merge-commit
# template ends with this line; the path is the MR's project).
_GITLAB_MERGE = re.compile(
    r"^See merge request (?P<path>[\w.\-/]+)!(?P<number>\d{1,9})\s*$", re.MULTILINE
)
# "Merge pull request #45 from owner/branch" (GitHub's merge button).
_GITHUB_MERGE = re.compile(r"^Merge pull request #(?P<number>\d{1,9}) from \S+")
# "Title (#45)" at the end of the subject (GitHub's squash and rebase).
_GITHUB_SQUASH = re.compile(r"^(?P<title>.*\S)\s+\(#(?P<number>\d{1,9})\)\s*$")
# The subject of GitLab's merge commit, which is not the MR's title.
_GITLAB_SUBJECT = re.compile(r"^Merge branch '.*' into '.*'$")

# Fix keywords: fix, fixes, fixed, close(s/d), resolve(s/d), any case,
# with an optional colon, then one or more short ids joined by commas,
# "and" or spaces.
_FIX_KEYWORD = r"\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\b:?"
# PROJECT-1A: a project slug (letters, digits, "-", "_") and a base-36
# number. "Fixes #12" (a tracker's issue) has no slug and does not match.
_SHORT_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*-[0-9A-Za-z]+"
_FIX_CLAUSE = re.compile(
    rf"{_FIX_KEYWORD}\s+(?P<ids>{_SHORT_ID}(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s+){_SHORT_ID})*)",
    re.IGNORECASE,
)
_SHORT_ID_RE = re.compile(_SHORT_ID)
# A title longer than the column is cut rather than refused.
MAX_TITLE_CHARS = 500


@dataclass(frozen=True, slots=True)
class MergeRequestRef:
    """A merge request named by a commit message."""

    kind: str  # GITLAB or GITHUB
    number: int
    title: str
    # GitLab names the MR's project ("group/project"); "" for GitHub.
    path: str = ""


def _paragraphs(message: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]


def merge_request_of(message: str) -> MergeRequestRef | None:
    """Return the merge request a commit message names, or None.

    GitLab merge commits take precedence over a "(#N)" in the subject, and
    the title is the MR's title the host wrote into the message (the first
    paragraph after a merge subject, else the subject itself).
    """
    lines = message.strip().splitlines()
    if not lines:
        return None
    subject = lines[0].strip()
    paragraphs = _paragraphs(message)
    gitlab = _GITLAB_MERGE.search(message)
    if gitlab:
        body = [
            p.splitlines()[0]
            for p in paragraphs[1:]
            if not _GITLAB_MERGE.match(p) and not p.startswith("See merge request")
        ]
        title = body[0] if _GITLAB_SUBJECT.match(subject) and body else subject
        return MergeRequestRef(
            GITLAB,
            int(gitlab["number"]),
            title[:MAX_TITLE_CHARS],
            gitlab["path"].strip("/"),
        )
    github = _GITHUB_MERGE.match(subject)
    if github:
        title = paragraphs[1].splitlines()[0] if len(paragraphs) > 1 else subject
        return MergeRequestRef(GITHUB, int(github["number"]), title[:MAX_TITLE_CHARS])
    squash = _GITHUB_SQUASH.match(subject)
    if squash:
        return MergeRequestRef(
            GITHUB, int(squash["number"]), squash["title"][:MAX_TITLE_CHARS]
        )
    return None


def web_base(repository_url: str) -> str:
    """Return a repository's web address from its web or clone URL
    ("https://host/group/project"), or "" when it is not http(s)."""
    try:
        parts = urlsplit(repository_url.strip())
        port = parts.port
    except ValueError:
        # "http://[" or a port beyond 65535: not a page to link.
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname + (f":{port}" if port else "")
    path = parts.path.rstrip("/")
    path = path.removesuffix(".git")
    return f"{parts.scheme}://{host}{path}"


def merge_request_url(repository_url: str, ref: MergeRequestRef) -> str:
    """Return the merge request's web page, built from the repository's URL.

    A GitLab reference to another project (``other/project!4``) points at
    that project on the same host.
    """
    base = web_base(repository_url)
    if not base:
        return ""
    if ref.kind == GITHUB:
        return f"{base}/pull/{ref.number}"
    parts = urlsplit(base)
    if ref.path and not parts.path.strip("/").endswith(ref.path):
        base = f"{parts.scheme}://{parts.netloc}/{ref.path}"
    return f"{base}/-/merge_requests/{ref.number}"


def fixed_short_ids(message: str) -> list[str]:
    """Return the short ids a commit message says it fixes, upper-cased,
    in order of appearance and without repeats."""
    found: list[str] = []
    for clause in _FIX_CLAUSE.finditer(message):
        for short_id in _SHORT_ID_RE.findall(clause["ids"]):
            # "and" between ids is a joiner, never an id (it has no "-").
            upper = short_id.upper()
            if upper not in found:
                found.append(upper)
    return found


def split_short_id(short_id: str) -> tuple[str, int] | None:
    """Return (project prefix, number) of "PROJECT-1A", or None."""
    prefix, _, number = short_id.rpartition("-")
    if not prefix or not number:
        return None
    try:
        return prefix, int(number, 36)
    except ValueError:
        return None


def commit_url(provider: str, repository_url: str, sha: str) -> str:
    """Return a commit's web page on GitLab or GitHub ("" for a plain git
    repository, whose host's pages are unknown)."""
    base = web_base(repository_url)
    if not base or not sha:
        return ""
    if provider == GITLAB:
        return f"{base}/-/commit/{sha}"
    if provider == GITHUB:
        return f"{base}/commit/{sha}"
    return ""
