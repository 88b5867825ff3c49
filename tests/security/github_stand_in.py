"""A stand-in GitHub: a real local HTTP server speaking GitHub's OAuth web
application flow and the REST API calls sign-in makes, as GitHub documents
them (the Enterprise Server layout, with the API under ``/api/v3``).

- ``GET /login/oauth/authorize`` "signs in" ``user`` at once and redirects
  to the registered callback with ``code`` and the client's ``state``;
- ``POST /login/oauth/access_token`` checks the client id and secret and
  the code, and answers form-encoded, or JSON when asked with
  ``Accept: application/json``, as GitHub does;
- ``GET /api/v3/user``, ``/user/emails``, ``/user/orgs`` and
  ``/user/teams`` need ``Authorization: token <access token>`` (or
  ``Bearer``).

Refused requests are recorded in ``errors``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.servers import free_port

CLIENT_ID = "Iv1.fixtrailtest"
CLIENT_SECRET = "github-stand-in-secret"


@dataclass
class GitHub:
    redirect_uri: str
    user: dict = field(default_factory=dict)
    emails: list[dict] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    # "org/team" names.
    teams: list[str] = field(default_factory=list)
    url: str = ""
    errors: list[str] = field(default_factory=list)
    _codes: set = field(default_factory=set)
    _tokens: set = field(default_factory=set)

    def authorize(self, query: dict) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != CLIENT_ID:
            return self._refuse("unknown client_id")
        if query.get("redirect_uri", self.redirect_uri) != self.redirect_uri:
            return self._refuse("redirect_uri does not match the application")
        code = secrets.token_hex(10)
        self._codes.add(code)
        back = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, b""

    def access_token(self, form: dict, accept: str) -> tuple[int, dict, bytes]:
        if (form.get("client_id"), form.get("client_secret")) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return self._refuse("bad client credentials")
        if form.get("code") not in self._codes:
            answer = {"error": "bad_verification_code"}
        else:
            self._codes.discard(form["code"])
            token = f"gho_{secrets.token_hex(16)}"
            self._tokens.add(token)
            answer = {"access_token": token, "scope": "read:org,user:email",
                      "token_type": "bearer"}  # fmt: skip
        if "application/json" in accept:
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps(answer).encode(),
            )
        body = urlencode(answer).encode()
        return 200, {"Content-Type": "application/x-www-form-urlencoded"}, body

    def api(self, path: str, authorization: str) -> tuple[int, dict, bytes]:
        token = authorization.split(" ", 1)[-1]
        if token not in self._tokens:
            return self._refuse(f"{path}: bad credentials", status=401)
        bodies = {
            "/user": self.user,
            "/user/emails": self.emails,
            "/user/orgs": [{"login": org, "id": n} for n, org in enumerate(self.orgs)],
            "/user/teams": [
                {
                    "slug": team.split("/")[1],
                    "organization": {"login": team.split("/")[0]},
                }
                for team in self.teams
            ],
        }
        if path not in bodies:
            return self._refuse(f"{path}: not found", status=404)
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(bodies[path]).encode(),
        )

    def _refuse(self, why: str, status: int = 400) -> tuple[int, dict, bytes]:
        self.errors.append(why)
        body = json.dumps({"message": why}).encode()
        return status, {"Content-Type": "application/json"}, body

    def start(self) -> GitHub:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, answer: tuple[int, dict, bytes]) -> None:
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                if parts.path == "/login/oauth/authorize":
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    self._send(stand_in.authorize(query))
                elif parts.path.startswith("/api/v3/"):
                    path = parts.path.removeprefix("/api/v3")
                    auth = self.headers.get("Authorization", "")
                    self._send(stand_in.api(path, auth))
                else:
                    self._send(stand_in._refuse(f"GET {parts.path}", status=404))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                if urlsplit(self.path).path == "/login/oauth/access_token":
                    accept = self.headers.get("Accept", "")
                    self._send(stand_in.access_token(form, accept))
                else:
                    self._send(stand_in._refuse(f"POST {self.path}", status=404))

        port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
