"""A plain git repository, read with the ``git`` command.

Fixtrail keeps a bare mirror of each such repository in the data
directory (``<data dir>/repos/<id>.git``), fetches it before reading a
range, and reads commits with their changed files from ``git log``::

    git log --format=<fields separated by \\x1f, records by \\x1e>
            --name-status --no-renames START..END

along the first-parent line, so a merge commit stands for its merge request
with every file the merge brought in; the last commit that changed a line
comes from ``git blame --porcelain``.
A token is sent as the password of an https URL (``oauth2:<token>@``) and
never written to the mirror's config. Git cannot answer for merge requests
or notes: those come from commit messages (fixtrail.releases.messages).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from fixtrail.lib.outbound import OutboundError, check_url
from fixtrail.releases.models import Repository
from fixtrail.releases.providers.base import (
    CommitInfo,
    MergeRequestInfo,
    ProviderError,
    register,
)

# Seconds a fetch may take (a first clone of a large repository is the
# slow case); a read of the local mirror is much faster.
FETCH_TIMEOUT_SECONDS = 300
READ_TIMEOUT_SECONDS = 60
# Commits read for a range without a start (a first release), as
# sentry-cli's own default for set-commits --local.
DEFAULT_DEPTH = 20
# Commits read for any one range; a longer range keeps its newest ones.
MAX_COMMITS = 1000
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
# A ref name as git allows it, without the option-like leading "-".
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@^~{}-]{0,249}")
_RECORD, _FIELD = "\x1e", "\x1f"
_FORMAT = _RECORD + _FIELD.join(["%H", "%an", "%ae", "%aI", "%B"]) + _FIELD


def mirror_path(repository: Repository) -> Path:
    """Return where the bare mirror of ``repository`` lives."""
    return Path(settings.DATA_DIR) / "repos" / f"{repository.pk}.git"


def _git_env() -> dict[str, str]:
    # No prompts for credentials, no user or system config, no hooks.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ASKPASS="/bin/true",
    )
    return env


def _run(
    args: list[str],
    *,
    cwd: Path | None,
    timeout: float,
    what: str = "",
    secret: str = "",
) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_git_env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProviderError(
            f"git {what or args[0]} took longer than {timeout:.0f} s"
        ) from None
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        last = error[-1] if error else "?"
        if secret:
            # The message may quote the URL, which carries the token.
            last = last.replace(quote(secret, safe=""), "***").replace(secret, "***")
        raise ProviderError(f"git {what or args[0]} failed: {last}")
    return done.stdout.decode("utf-8", "replace")


def _check_ref(ref: str) -> str:
    if not _REF.fullmatch(ref) or ".." in ref:
        raise ProviderError(f"not a git revision: {ref[:80]!r}", permanent=True)
    return ref


def parse_log(text: str) -> list[CommitInfo]:
    """Parse ``git log`` output in this module's format (see above)."""
    commits = []
    for record in text.split(_RECORD)[1:]:
        fields = record.split(_FIELD)
        if len(fields) < 6:
            continue
        sha, name, email, when, message, status = fields[:6]
        files = []
        for line in status.strip("\n").splitlines():
            change, _, path = line.partition("\t")
            if path and change[:1] in ("A", "M", "D"):
                files.append((path, change[:1]))
            elif path and change[:1]:
                # Type changes and the like count as modifications.
                files.append((path.split("\t")[-1], "M"))
        commits.append(
            CommitInfo(
                sha=sha,
                message=message.strip(),
                author_name=name,
                author_email=email,
                authored_at=dt.datetime.fromisoformat(when) if when else None,
                files=files,
            )
        )
    return commits


@register("git")
class GitProvider:
    """Reads a repository that the server fetches itself."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.path = mirror_path(repository)

    def _remote_url(self) -> str:
        url = self.repository.url
        try:
            check_url(url)
        except OutboundError as exc:
            raise ProviderError(exc.message, permanent=exc.permanent) from None
        token = self.repository.token
        if token:
            parts = urlsplit(url)
            netloc = f"oauth2:{quote(token, safe='')}@{parts.hostname}"
            if parts.port:
                netloc += f":{parts.port}"
            url = urlunsplit(parts._replace(netloc=netloc))
        return url

    def fetch(self) -> None:
        """Create or update the bare mirror from the repository's URL."""
        url = self._remote_url()
        if not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            _run(["init", "--bare", "--quiet", str(self.path)], cwd=None, timeout=30)
        # The URL (token included) is given on the command line each time
        # and never stored in the mirror's config; redirects are refused so
        # the checked host is the one fetched from.
        _run(
            [
                "-c", "http.followRedirects=false",
                "-c", "protocol.allow=never",
                "-c", "protocol.https.allow=always",
                "-c", "protocol.http.allow=always",
                "fetch", "--quiet", "--prune", "--no-tags", url,
                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
            ],
            cwd=self.path,
            timeout=FETCH_TIMEOUT_SECONDS,
            what="fetch",
            secret=self.repository.token,
        )  # fmt: skip

    def has_mirror(self) -> bool:
        """Return whether a fetched mirror exists on this server."""
        return (self.path / "HEAD").exists()

    def commits_between(self, start: str | None, end: str) -> list[CommitInfo]:
        """Fetch, then return the commits after ``start`` up to ``end``,
        newest first, with their changed files."""
        self.fetch()
        end = _check_ref(end)
        if start:
            spec = [f"{_check_ref(start)}..{end}", f"--max-count={MAX_COMMITS}"]
        else:
            spec = [end, f"--max-count={DEFAULT_DEPTH}"]
        text = _run(
            [
                "log", f"--format={_FORMAT}", "--name-status", "--no-renames",
                "--first-parent", "--diff-merges=first-parent", *spec, "--",
            ],
            cwd=self.path,
            timeout=READ_TIMEOUT_SECONDS,
        )  # fmt: skip
        return parse_log(text)

    def merge_requests_of(self, sha: str) -> list[MergeRequestInfo]:
        """Git knows no merge requests: always empty."""
        return []

    def upsert_note(self, number: int, body: str, note_id: str = "") -> str:
        """Git has no merge requests to write on."""
        raise ProviderError("a plain git repository takes no notes", permanent=True)

    def blame_line(self, sha: str, path: str, line: int) -> str | None:
        """Return the sha of the commit that last changed ``line`` of
        ``path`` as of ``sha``, from the local mirror; None when unknown."""
        if not self.has_mirror() or line < 1 or path.startswith("-"):
            return None
        try:
            text = _run(
                ["blame", "--porcelain", "--first-parent", "-L", f"{line},{line}",
                 _check_ref(sha), "--", path],
                cwd=self.path,
                timeout=READ_TIMEOUT_SECONDS,
            )  # fmt: skip
        except ProviderError:
            return None
        first = text.split(" ", 1)[0]
        return first if _SHA.fullmatch(first) else None
