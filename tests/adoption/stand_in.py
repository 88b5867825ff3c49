"""A stand-in for the parts of Sentry's web API that Fixtrail does not
serve, in front of a real Fixtrail that answers the rest.

Written from Sentry's API reference (pinned):
https://github.com/getsentry/sentry-docs/blob/c6d0a87a79b457d24947a50e90d8c98040755a51/docs/api/
— ``GET /api/0/organizations/{org}/teams/`` (teams with their ``projects``)
and ``GET /api/0/organizations/{org}/members/`` (``email``, ``orgRole``,
``teamRoles``; older servers send ``role`` and ``teams``). Lists are paged
one row per page with Sentry's ``Link`` header, so the importer's paging is
exercised. Every request must carry ``Authorization: Bearer <token>``; the
first ``fail_next`` requests answer 429 with ``Retry-After: 0``.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class SentryStandIn:
    """Serve teams and members; forward every other GET to ``upstream``."""

    def __init__(self, upstream: str, token: str, org: str, lists: dict) -> None:
        self.upstream = urlsplit(upstream)
        self.token = token
        self.org = org
        self.lists = lists
        self.fail_next = 0
        self.requests: list[tuple[str, int]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stand_in.handle(self)

            def log_message(self, *args: Any) -> None:
                pass  # The test output is for assertions, not access logs.

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SentryStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Check the token, then answer from the lists or from upstream."""
        parts = urlsplit(request.path)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(request, parts.path, 401, {"detail": "bad token"})
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._send(
                request, parts.path, 429, {"detail": "slow down"}, {"Retry-After": "0"}
            )
        for name, rows in self.lists.items():
            if parts.path == f"/api/0/organizations/{self.org}/{name}/":
                cursor = int(parse_qs(parts.query).get("cursor", ["0"])[0])
                return self._send(
                    request,
                    parts.path,
                    200,
                    rows[cursor : cursor + 1],
                    {"Link": self._link(parts.path, cursor, len(rows))},
                )
        self._forward(request, parts)

    def _link(self, path: str, cursor: int, total: int) -> str:
        more = "true" if cursor + 1 < total else "false"
        return (
            f'<{self.url}{path}?cursor={cursor}>; rel="previous"; results="false"; '
            f'cursor="{cursor}", <{self.url}{path}?cursor={cursor + 1}>; '
            f'rel="next"; results="{more}"; cursor="{cursor + 1}"'
        )

    def _forward(self, request: BaseHTTPRequestHandler, parts: Any) -> None:
        connection = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        connection.request(
            "GET",
            request.path,
            headers={"Authorization": request.headers["Authorization"]},
        )
        response = connection.getresponse()
        body = response.read()
        link = response.getheader("Link", "").replace(
            f"{self.upstream.scheme}://{self.upstream.netloc}", self.url
        )
        connection.close()
        self.requests.append((parts.path, response.status))
        request.send_response(response.status)
        request.send_header("Content-Type", "application/json")
        if link:
            request.send_header("Link", link)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        path: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.requests.append((path, status))
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
