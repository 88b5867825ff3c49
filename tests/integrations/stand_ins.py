"""Stand-in GitLab, GitHub and Jira servers: real local HTTP servers that
speak the documented REST endpoints Fixtrail calls, check each request's
path, auth header and body, and keep their issues in memory.

A request the real service would refuse gets the real service's status
(401 for bad credentials, 404 for an unknown project, 400/422 for a bad
body); a request to an endpoint the stand-in does not know is recorded in
``unexpected`` and answered 404, so tests can assert there were none.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.servers import free_port

# Every change moves a stand-in's clock one minute, so timestamps order
# changes exactly, as the trackers' own do.
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class StandIn:
    """Shared machinery: routing, the request log, a clock."""

    token: str
    requests: list[Seen] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    issues: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    # Answer the next request with this status instead (a tracker outage).
    fail_next: int = 0
    # Carry out the next create but answer 502, as when the answer is lost
    # on the way back (a timeout after the tracker acted).
    lose_next_create: bool = False
    ticks: int = 0
    url: str = ""

    def now(self) -> dt.datetime:
        self.ticks += 1
        return START + dt.timedelta(minutes=self.ticks)

    def routes(self) -> list[tuple[str, str, Callable]]:
        raise NotImplementedError

    def authorized(self, headers: dict) -> bool:
        raise NotImplementedError

    def start(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                stand_in.requests.append(seen)
                status, answer = stand_in.dispatch(seen)
                if (
                    stand_in.lose_next_create
                    and status == 201
                    and (seen.path.endswith("/issues") or seen.path.endswith("/issue"))
                ):
                    stand_in.lose_next_create = False
                    status, answer = 502, {"message": "Bad Gateway"}
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = _serve

        port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def dispatch(self, seen: Seen) -> tuple[int, object]:
        if self.fail_next:
            status, self.fail_next = self.fail_next, 0
            return status, {"message": "unavailable"}
        if not self.authorized(seen.headers):
            return 401, {"message": "401 Unauthorized"}
        for method, pattern, func in self.routes():
            match = re.fullmatch(pattern, seen.path)
            if method == seen.method and match:
                return func(seen, *match.groups())
        self.unexpected.append(f"{seen.method} {seen.path}")
        return 404, {"message": "404 Not Found"}

    def calls(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]


@dataclass
class GitLab(StandIn):
    """GitLab API v4 for project ``group/app`` (id 5)."""

    project: str = "group/app"

    def authorized(self, headers: dict) -> bool:
        return headers.get("private-token") == self.token

    def routes(self) -> list:
        p = re.escape(self.project.replace("/", "%2F"))
        return [
            ("GET", r"/api/v4/user", lambda s: (200, {"id": 1, "username": "fixer"})),
            ("GET", r"/api/v4/users", self.users),
            ("GET", rf"/api/v4/projects/{p}", self.get_project),
            ("POST", rf"/api/v4/projects/{p}/issues", self.create),
            ("GET", rf"/api/v4/projects/{p}/issues", self.search),
            ("GET", rf"/api/v4/projects/{p}/issues/(\d+)", self.get),
            ("PUT", rf"/api/v4/projects/{p}/issues/(\d+)", self.edit),
            ("POST", rf"/api/v4/projects/{p}/issues/(\d+)/notes", self.note),
        ]

    def users(self, seen: Seen) -> tuple[int, object]:
        name = seen.query.get("username", [""])[0]
        return 200, ([{"id": 77, "username": name}] if name == "dana" else [])

    def get_project(self, seen: Seen) -> tuple[int, object]:
        return 200, {
            "id": 5,
            "path_with_namespace": self.project,
            "issues_enabled": True,
        }

    def search(self, seen: Seen) -> tuple[int, object]:
        if seen.query.get("in") != ["description"]:
            return 400, {"error": "in does not have a valid value"}
        text = seen.query.get("search", [""])[0]
        return 200, [i for i in self.issues.values() if text in i["description"]]

    def create(self, seen: Seen) -> tuple[int, object]:
        body = seen.body or {}
        if not isinstance(body.get("title"), str) or not body["title"]:
            return 400, {"message": {"title": ["can't be blank"]}}
        iid = len(self.issues) + 1
        self.issues[iid] = {
            "id": 1000 + iid,
            "iid": iid,
            "project_id": 5,
            "title": body["title"],
            "description": body.get("description", ""),
            "labels": [x for x in body.get("labels", "").split(",") if x],
            "assignee_ids": body.get("assignee_ids", []),
            "state": "opened",
            "updated_at": self.now().isoformat().replace("+00:00", "Z"),
            "web_url": f"{self.url}/{self.project}/-/issues/{iid}",
        }
        return 201, self.issues[iid]

    def get(self, seen: Seen, iid: str) -> tuple[int, object]:
        if int(iid) not in self.issues:
            return 404, {"message": "404 Not found"}
        return 200, self.issues[int(iid)]

    def edit(self, seen: Seen, iid: str) -> tuple[int, object]:
        issue = self.issues.get(int(iid))
        event = (seen.body or {}).get("state_event")
        if issue is None:
            return 404, {"message": "404 Not found"}
        if event not in ("close", "reopen"):
            return 400, {"message": "state_event is invalid"}
        issue["state"] = "closed" if event == "close" else "opened"
        issue["updated_at"] = self.now().isoformat().replace("+00:00", "Z")
        return 200, issue

    def note(self, seen: Seen, iid: str) -> tuple[int, object]:
        if int(iid) not in self.issues:
            return 404, {"message": "404 Not found"}
        if not (seen.body or {}).get("body"):
            return 400, {"message": "body is missing"}
        self.comments.setdefault(int(iid), []).append(seen.body["body"])
        return 201, {"id": 1, "body": seen.body["body"]}


@dataclass
class GitHub(StandIn):
    """GitHub's REST API for repository ``acme/app``."""

    repo: str = "acme/app"

    def authorized(self, headers: dict) -> bool:
        return (
            headers.get("authorization") == f"Bearer {self.token}"
            and headers.get("accept") == "application/vnd.github+json"
        )

    def routes(self) -> list:
        r = re.escape(self.repo)
        return [
            ("GET", r"/user", lambda s: (200, {"login": "fixer"})),
            ("GET", rf"/repos/{r}", self.get_repo),
            ("POST", rf"/repos/{r}/issues", self.create),
            ("GET", rf"/repos/{r}/issues", self.list_issues),
            ("GET", rf"/repos/{r}/issues/(\d+)", self.get),
            ("PATCH", rf"/repos/{r}/issues/(\d+)", self.edit),
            ("POST", rf"/repos/{r}/issues/(\d+)/comments", self.comment),
        ]

    def list_issues(self, seen: Seen) -> tuple[int, object]:
        newest = sorted(self.issues.values(), key=lambda i: -i["number"])
        size = int(seen.query.get("per_page", ["30"])[0])
        return 200, newest[:size]

    def get_repo(self, seen: Seen) -> tuple[int, object]:
        return 200, {
            "full_name": self.repo,
            "has_issues": True,
            "permissions": {"pull": True, "triage": True, "push": True},
        }

    def create(self, seen: Seen) -> tuple[int, object]:
        body = seen.body or {}
        if not body.get("title"):
            return 422, {"message": "Validation Failed"}
        n = len(self.issues) + 1
        self.issues[n] = {
            "number": n,
            "title": body["title"],
            "body": body.get("body"),
            "labels": [{"name": x} for x in body.get("labels", [])],
            "assignees": [{"login": x} for x in body.get("assignees", [])],
            "state": "open",
            "updated_at": self.now().isoformat().replace("+00:00", "Z"),
            "html_url": f"{self.url}/{self.repo}/issues/{n}",
        }
        return 201, self.issues[n]

    def get(self, seen: Seen, n: str) -> tuple[int, object]:
        if int(n) not in self.issues:
            return 404, {"message": "Not Found"}
        return 200, self.issues[int(n)]

    def edit(self, seen: Seen, n: str) -> tuple[int, object]:
        issue = self.issues.get(int(n))
        state = (seen.body or {}).get("state")
        if issue is None:
            return 404, {"message": "Not Found"}
        if state not in ("open", "closed"):
            return 422, {"message": "Validation Failed"}
        issue["state"] = state
        issue["updated_at"] = self.now().isoformat().replace("+00:00", "Z")
        return 200, issue

    def comment(self, seen: Seen, n: str) -> tuple[int, object]:
        if int(n) not in self.issues:
            return 404, {"message": "Not Found"}
        if not (seen.body or {}).get("body"):
            return 422, {"message": "Validation Failed"}
        self.comments.setdefault(int(n), []).append(seen.body["body"])
        return 201, {"id": 1, "body": seen.body["body"]}


TRANSITIONS = [
    {"id": "11", "name": "To Do", "to": {"statusCategory": {"key": "new"}}},
    {
        "id": "21",
        "name": "In Progress",
        "to": {"statusCategory": {"key": "indeterminate"}},
    },
    {"id": "31", "name": "Done", "to": {"statusCategory": {"key": "done"}}},
]
CATEGORY = {"11": "new", "21": "indeterminate", "31": "done"}


@dataclass
class Jira(StandIn):
    """Jira Cloud REST API v3 for project OPS (issue types Bug, Task)."""

    email: str = "ops@example.org"
    key: str = "OPS"

    def authorized(self, headers: dict) -> bool:
        raw = f"{self.email}:{self.token}".encode()
        return headers.get("authorization") == "Basic " + base64.b64encode(raw).decode(
            "ascii"
        )

    def routes(self) -> list:
        k = re.escape(self.key)
        return [
            (
                "GET",
                r"/rest/api/3/myself",
                lambda s: (200, {"emailAddress": self.email}),
            ),
            ("GET", rf"/rest/api/3/project/{k}", self.get_project),
            ("GET", r"/rest/api/3/project/([A-Z]+)", self.no_project),
            ("POST", r"/rest/api/3/issue", self.create),
            ("GET", r"/rest/api/3/search/jql", self.search),
            ("GET", rf"/rest/api/3/issue/({k}-\d+)", self.get),
            ("POST", rf"/rest/api/3/issue/({k}-\d+)/comment", self.comment),
            ("GET", rf"/rest/api/3/issue/({k}-\d+)/transitions", self.transitions),
            ("POST", rf"/rest/api/3/issue/({k}-\d+)/transitions", self.transition),
        ]

    def no_project(self, seen: Seen, key: str) -> tuple[int, object]:
        return 404, {"errorMessages": ["No project could be found"]}

    def transitions(self, seen: Seen, key: str) -> tuple[int, object]:
        return 200, {"transitions": TRANSITIONS}

    def get_project(self, seen: Seen) -> tuple[int, object]:
        return 200, {
            "key": self.key,
            "issueTypes": [{"name": "Bug"}, {"name": "Task"}],
        }

    def _stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def create(self, seen: Seen) -> tuple[int, object]:
        fields = (seen.body or {}).get("fields") or {}
        errors = {}
        if (fields.get("project") or {}).get("key") != self.key:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in ("Bug", "Task"):
            errors["issuetype"] = "valid issue type is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if (fields.get("description") or {}).get("type") != "doc":
            errors["description"] = "Operation value must be an Atlassian Document"
        if errors:
            return 400, {"errorMessages": [], "errors": errors}
        key = f"{self.key}-{len(self.issues) + 1}"
        self.issues[key] = {
            "fields": fields,
            "category": "new",
            "updated": self._stamp(),
        }
        return 201, {
            "id": "100",
            "key": key,
            "self": f"{self.url}/rest/api/3/issue/100",
        }

    def search(self, seen: Seen) -> tuple[int, object]:
        jql = seen.query.get("jql", [""])[0]
        if jql != f'project = "{self.key}" ORDER BY created DESC':
            return 400, {"errorMessages": [f"Unexpected JQL {jql!r}"]}
        found = []
        for key, issue in reversed(self.issues.items()):
            status = {"statusCategory": {"key": issue["category"]}}
            fields = {**issue["fields"], "updated": issue["updated"], "status": status}
            found.append({"key": key, "fields": fields})
        return 200, {"issues": found}

    def get(self, seen: Seen, key: str) -> tuple[int, object]:
        issue = self.issues.get(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        return 200, {
            "key": key,
            "fields": {
                "summary": issue["fields"]["summary"],
                "updated": issue["updated"],
                "status": {"name": "?", "statusCategory": {"key": issue["category"]}},
            },
        }

    def comment(self, seen: Seen, key: str) -> tuple[int, object]:
        body = (seen.body or {}).get("body") or {}
        if key not in self.issues:
            return 404, {"errorMessages": ["Issue does not exist"]}
        if body.get("type") != "doc":
            return 400, {"errorMessages": ["Comment body must be a document"]}
        self.comments.setdefault(key, []).append(body)
        return 201, {"id": "1"}

    def transition(self, seen: Seen, key: str) -> tuple[int, object]:
        chosen = ((seen.body or {}).get("transition") or {}).get("id")
        if key not in self.issues:
            return 404, {"errorMessages": ["Issue does not exist"]}
        if chosen not in CATEGORY:
            return 400, {"errorMessages": ["Transition id is not valid"]}
        self.issues[key]["category"] = CATEGORY[chosen]
        self.issues[key]["updated"] = self._stamp()
        return 204, None
