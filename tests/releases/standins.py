"""Stand-ins for GitLab and GitHub (this module holds no tests).

Each is a real HTTP server on 127.0.0.1, in a thread, speaking the part of
the service's documented REST API that Fixtrail calls, over a small linear
history of commits it holds. Every request is checked the way the service
would: the exact path (project path URL-encoded for GitLab), the auth
header, and the JSON body of writes. A request that does not match is
answered 404 and kept in ``unexpected``, so a test can assert there was
none. ``fail_next`` makes the next matching request fail (401, 429…).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeCommit:
    sha: str
    message: str
    author_name: str = "Dana Developer"
    author_email: str = "dana@example.org"
    authored_at: str = "2026-03-01T10:00:00Z"
    # (path, change) with change "A", "M" or "D".
    files: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FakeMergeRequest:
    number: int
    title: str
    author: str
    merged_at: str | None = "2026-03-01T11:00:00Z"
    shas: list[str] = field(default_factory=list)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: object


@dataclass
class Failure:
    method: str
    path_pattern: str
    status: int
    headers: dict[str, str]
    body: dict


class StandIn:
    """A fake code host; subclasses route requests (see ``routes``)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.commits: list[FakeCommit] = []  # oldest first
        self.merge_requests: list[FakeMergeRequest] = []
        # number -> {note id: body}
        self.notes: dict[int, dict[int, str]] = {}
        self.next_note_id = 9001
        self.requests: list[Seen] = []
        self.unexpected: list[str] = []
        self.failures: list[Failure] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None

    # What a test sets up --------------------------------------------------

    def add_commit(self, commit: FakeCommit) -> FakeCommit:
        self.commits.append(commit)
        return commit

    def add_merge_request(self, mr: FakeMergeRequest) -> FakeMergeRequest:
        self.merge_requests.append(mr)
        return mr

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        headers: dict[str, str] | None = None,
        body: dict | None = None,
    ) -> None:
        """Answer the next ``method`` request whose path matches
        ``path_pattern`` (a regular expression) with ``status``."""
        self.failures.append(
            Failure(method, path_pattern, status, headers or {}, body or {})
        )

    def calls(self, method: str | None = None) -> list[str]:
        """Return "METHOD path" of each request served, in order."""
        return [
            f"{seen.method} {seen.path}"
            for seen in self.requests
            if method is None or seen.method == method
        ]

    # The server -----------------------------------------------------------

    def start(self) -> str:
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                standin._serve(self)

            def do_POST(self):  # noqa: N802
                standin._serve(self)

            def do_PUT(self):  # noqa: N802
                standin._serve(self)

            def do_PATCH(self):  # noqa: N802
                standin._serve(self)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None  # start() ran
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        seen = Seen(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(seen)
            status, headers, answer = self._answer(seen)
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, seen: Seen) -> tuple[int, dict, object]:
        for failure in self.failures:
            if failure.method == seen.method and re.fullmatch(
                failure.path_pattern, seen.path
            ):
                self.failures.remove(failure)
                return failure.status, failure.headers, failure.body
        if not self.authorized(seen.headers):
            return 401, {}, {"message": "401 Unauthorized"}
        for method, pattern, route in self.routes():
            match = re.fullmatch(pattern, seen.path)
            if method == seen.method and match:
                return route(seen, *match.groups())
        self.unexpected.append(f"{seen.method} {seen.path}")
        return 404, {}, {"message": "404 Not Found"}

    # For subclasses -------------------------------------------------------

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def routes(self) -> list:
        raise NotImplementedError

    def _range(self, start: str | None, end: str) -> list[FakeCommit]:
        """The commits after ``start`` up to ``end``, oldest first."""
        shas = [c.sha for c in self.commits]
        stop = shas.index(end) + 1
        begin = shas.index(start) + 1 if start else 0
        return self.commits[begin:stop]

    def _commit(self, sha: str) -> FakeCommit | None:
        return next((c for c in self.commits if c.sha == sha), None)

    def _write_note(self, seen: Seen, number: int, note_id: int | None) -> tuple:
        body = seen.body
        if not isinstance(body, dict) or set(body) != {"body"}:
            self.unexpected.append(f"bad note body {body!r}")
            return 400, {}, {"message": "body is missing"}
        if not isinstance(body["body"], str) or not body["body"]:
            self.unexpected.append(f"bad note body {body!r}")
            return 400, {}, {"message": "body is empty"}
        notes = self.notes.setdefault(number, {})
        if note_id is None:
            note_id = self.next_note_id
            self.next_note_id += 1
            notes[note_id] = body["body"]
            return 201, {}, {"id": note_id, "body": body["body"]}
        if note_id not in notes:
            return 404, {}, {"message": "404 Not found"}
        notes[note_id] = body["body"]
        return 200, {}, {"id": note_id, "body": body["body"]}


class GitLabStandIn(StandIn):
    """GitLab's REST API v4 for one project, under an optional path prefix
    (a self-hosted GitLab at https://host/<prefix>/)."""

    def __init__(self, token: str, project: str = "acme/backend", prefix: str = ""):
        super().__init__(token)
        self.project = project
        self.prefix = prefix

    @property
    def web_url(self) -> str:
        prefix = f"/{self.prefix}" if self.prefix else ""
        return f"{self.base_url}{prefix}/{self.project}"

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("private-token") == self.token

    def routes(self) -> list:
        prefix = f"/{re.escape(self.prefix)}" if self.prefix else ""
        # GitLab takes the project path URL-encoded as one segment.
        project = re.escape(self.project.replace("/", "%2F"))
        base = f"{prefix}/api/v4/projects/{project}"
        return [
            ("GET", f"{base}/repository/compare", self._compare),
            ("GET", f"{base}/repository/commits", self._history),
            ("GET", f"{base}/repository/commits/(\\w+)/diff", self._diff),
            (
                "GET",
                f"{base}/repository/commits/(\\w+)/merge_requests",
                self._merge_requests,
            ),
            ("POST", f"{base}/merge_requests/(\\d+)/notes", self._post_note),
            ("PUT", f"{base}/merge_requests/(\\d+)/notes/(\\d+)", self._put_note),
        ]

    def _commit_json(self, commit: FakeCommit) -> dict:
        return {
            "id": commit.sha,
            "short_id": commit.sha[:8],
            "title": commit.message.splitlines()[0],
            "message": commit.message,
            "author_name": commit.author_name,
            "author_email": commit.author_email,
            "authored_date": commit.authored_at,
            "committer_name": commit.author_name,
            "created_at": commit.authored_at,
        }

    def _compare(self, seen: Seen) -> tuple:
        start, end = seen.query["from"][0], seen.query["to"][0]
        commits = self._range(start, end)
        return (
            200,
            {},
            {
                "commit": self._commit_json(commits[-1]) if commits else None,
                "commits": [self._commit_json(c) for c in commits],
                "diffs": [],
                "compare_timeout": False,
                "compare_same_ref": start == end,
            },
        )

    def _history(self, seen: Seen) -> tuple:
        commits = self._range(None, seen.query["ref_name"][0])
        per_page = int(seen.query.get("per_page", ["20"])[0])
        return 200, {}, [self._commit_json(c) for c in reversed(commits)][:per_page]

    def _diff(self, seen: Seen, sha: str) -> tuple:
        commit = self._commit(sha)
        if commit is None:
            return 404, {}, {"message": "404 Commit Not Found"}
        per_page = int(seen.query.get("per_page", ["20"])[0])
        page = int(seen.query.get("page", ["1"])[0])
        rows = [
            {
                "old_path": path,
                "new_path": path,
                "a_mode": "100644",
                "b_mode": "100644",
                "new_file": change == "A",
                "renamed_file": False,
                "deleted_file": change == "D",
                "diff": "@@ -1 +1 @@\n-a\n+b\n",
            }
            for path, change in commit.files
        ]
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(rows):
            nxt = f"{self.base_url}{seen.path}?page={page + 1}&per_page={per_page}"
            headers["Link"] = f'<{nxt}>; rel="next"'
            headers["X-Next-Page"] = str(page + 1)
        return 200, headers, chunk

    def _merge_requests(self, seen: Seen, sha: str) -> tuple:
        return (
            200,
            {},
            [
                {
                    "id": 1000 + mr.number,
                    "iid": mr.number,
                    "title": mr.title,
                    "state": "merged" if mr.merged_at else "opened",
                    "author": {"username": mr.author, "name": mr.author.title()},
                    "web_url": f"{self.web_url}/-/merge_requests/{mr.number}",
                    "merged_at": mr.merged_at,
                }
                for mr in self.merge_requests
                if sha in mr.shas
            ],
        )

    def _post_note(self, seen: Seen, number: str) -> tuple:
        return self._write_note(seen, int(number), None)

    def _put_note(self, seen: Seen, number: str, note_id: str) -> tuple:
        return self._write_note(seen, int(number), int(note_id))


class GitHubStandIn(StandIn):
    """GitHub Enterprise Server's REST API (under /api/v3) for one
    repository."""

    def __init__(self, token: str, repo: str = "acme/backend") -> None:
        super().__init__(token)
        self.repo = repo
        # The server's own cap on per_page (GitHub's is 100); a test lowers
        # it to see paging with a few commits.
        self.max_per_page = 100

    @property
    def web_url(self) -> str:
        return f"{self.base_url}/{self.repo}"

    def authorized(self, headers: dict[str, str]) -> bool:
        return (
            headers.get("authorization") == f"Bearer {self.token}"
            and headers.get("accept") == "application/vnd.github+json"
        )

    def routes(self) -> list:
        base = f"/api/v3/repos/{re.escape(self.repo)}"
        return [
            ("GET", f"{base}/compare/(\\w+)\\.\\.\\.(\\w+)", self._compare),
            ("GET", f"{base}/commits", self._history),
            ("GET", f"{base}/commits/(\\w+)", self._commit_detail),
            ("GET", f"{base}/commits/(\\w+)/pulls", self._pulls),
            ("POST", f"{base}/issues/(\\d+)/comments", self._post_comment),
            ("PATCH", f"{base}/issues/comments/(\\d+)", self._patch_comment),
        ]

    def _commit_json(self, commit: FakeCommit) -> dict:
        person = {
            "name": commit.author_name,
            "email": commit.author_email,
            "date": commit.authored_at,
        }
        return {
            "sha": commit.sha,
            "commit": {
                "message": commit.message,
                "author": person,
                "committer": person,
            },
            "html_url": f"{self.web_url}/commit/{commit.sha}",
        }

    def _compare(self, seen: Seen, base: str, head: str) -> tuple:
        commits = self._range(base, head)
        per_page = min(int(seen.query.get("per_page", ["250"])[0]), self.max_per_page)
        page = int(seen.query.get("page", ["1"])[0])
        chunk = commits[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(commits):
            nxt = f"{self.base_url}{seen.path}?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return (
            200,
            headers,
            {
                "status": "ahead",
                "ahead_by": len(commits),
                "total_commits": len(commits),
                "commits": [self._commit_json(c) for c in chunk],
                "files": [],
            },
        )

    def _history(self, seen: Seen) -> tuple:
        commits = self._range(None, seen.query["sha"][0])
        per_page = int(seen.query.get("per_page", ["30"])[0])
        return 200, {}, [self._commit_json(c) for c in reversed(commits)][:per_page]

    def _commit_detail(self, seen: Seen, sha: str) -> tuple:
        commit = self._commit(sha)
        if commit is None:
            return 422, {}, {"message": "No commit found for SHA"}
        statuses = {"A": "added", "M": "modified", "D": "removed"}
        answer = self._commit_json(commit)
        answer["files"] = [
            {"filename": path, "status": statuses[change]}
            for path, change in commit.files
        ]
        return 200, {}, answer

    def _pulls(self, seen: Seen, sha: str) -> tuple:
        return (
            200,
            {},
            [
                {
                    "number": mr.number,
                    "title": mr.title,
                    "state": "closed" if mr.merged_at else "open",
                    "user": {"login": mr.author},
                    "html_url": f"{self.web_url}/pull/{mr.number}",
                    "merged_at": mr.merged_at,
                }
                for mr in self.merge_requests
                if sha in mr.shas
            ],
        )

    def _post_comment(self, seen: Seen, number: str) -> tuple:
        return self._write_note(seen, int(number), None)

    def _patch_comment(self, seen: Seen, comment_id: str) -> tuple:
        number = next(
            (n for n, notes in self.notes.items() if int(comment_id) in notes), 0
        )
        return self._write_note(seen, number, int(comment_id))
