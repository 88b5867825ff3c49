"""A real git repository for the tests, made with the ``git`` command, and
a real HTTP server that serves it the way git's "dumb" HTTP protocol reads
it (plain files after ``git update-server-info``)."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Fixed identities and dates, so shas and authors are the same every run.
ALICE = ("Alice Liddell", "alice@example.org")
BOB = ("Bob Builder", "bob@example.org")
DATE = "2026-03-01T10:00:00+00:00"


class GitRepo:
    """A work tree with helpers that commit files with the git command."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")
        self.minute = 0

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.path),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_COMMITTER_NAME": "CI",
                "GIT_COMMITTER_EMAIL": "ci@example.org",
                "GIT_COMMITTER_DATE": DATE,
            },
        ).stdout.strip()

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str, author: tuple[str, str] = ALICE) -> str:
        """Commit everything in the work tree; return the full sha."""
        self.minute += 1
        self.git("add", "-A")
        self.git(
            "-c", f"user.name={author[0]}", "-c", f"user.email={author[1]}",
            "commit", "--quiet", "-m", message,
            f"--date=2026-03-01T10:{self.minute:02d}:00+00:00",
            f"--author={author[0]} <{author[1]}>",
        )  # fmt: skip
        return self.head()

    def merge(self, branch: str, message: str) -> str:
        """Merge ``branch`` into the current branch with a merge commit."""
        self.git(
            "-c", "user.name=CI", "-c", "user.email=ci@example.org",
            "merge", "--quiet", "--no-ff", "-m", message, branch,
        )  # fmt: skip
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


class DumbGitServer:
    """Serves bare repositories under ``root`` over HTTP, read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, repo: GitRepo, name: str) -> str:
        """Push ``repo`` to a bare copy served as ``name`` (e.g.
        "acme/shop.git"); return its URL."""
        bare = self.root / name
        if not bare.exists():
            subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
        repo.git("push", "--quiet", "--force", str(bare), "--all")
        subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""
