"""The lean WSGI path for the SDK endpoints, ahead of Django's middleware.

``wrap(django_app)`` returns a WSGI application that answers
``/api/<project_id>/envelope|store|security/`` and the probes ``/_health``
and ``/_ready`` (fixtrail.core.health) itself and hands every other request
to Django. The SDK endpoints need none of the middleware (sessions,
CSRF, auth, messages), and skipping it and the URL resolver roughly halves
the CPU per event (measurements in bench/ingest.py's docstring). It also
reads chunked bodies, which Django's WSGI handler drops.

Use it in fixtrail/wsgi.py::

    application = wrap(get_wsgi_application())
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

import orjson
from django.db import connections

from fixtrail.core.health import PROBES
from fixtrail.core.metrics import INGEST_REQUESTS
from fixtrail.ingest.endpoints import IngestRequest, handle_ingest
from fixtrail.ingest.stats import start_flusher

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SDK_PATH = re.compile(r"/api/([0-9]{1,18})/(envelope|store|security)/?")

# What Django's never_cache sets: a probe's answer is never reused.
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"

# The request headers the endpoints read, as WSGI environ keys.
_HEADERS = {
    "origin": "HTTP_ORIGIN",
    "x-sentry-auth": "HTTP_X_SENTRY_AUTH",
    "authorization": "HTTP_AUTHORIZATION",
    "content-encoding": "HTTP_CONTENT_ENCODING",
    "user-agent": "HTTP_USER_AGENT",
    "access-control-request-headers": "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
}


def wrap(django_app: WSGIApp) -> WSGIApp:
    """Return a WSGI app serving the SDK endpoints and delegating the rest."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]):
        path = environ.get("PATH_INFO", "")
        probe = PROBES.get(path)
        if probe is not None and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _answer_probe(probe, environ, start_response)
        match = _SDK_PATH.fullmatch(path)
        if match is None:
            return django_app(environ, start_response)
        start_flusher()
        try:
            response = handle_ingest(_ingest_request(environ, match))
        finally:
            _close_stale_connections()
        INGEST_REQUESTS.labels(response.status_line[:3], match[2]).inc()
        start_response(response.status_line, response.headers)
        return [response.body]

    # Lets tests and `fixtrail check` tell a wrapped application apart.
    application.serves_sdk_endpoints = True  # type: ignore[attr-defined]
    return application


def _answer_probe(
    probe: Callable[[], tuple[int, dict[str, Any]]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Iterable[bytes]:
    try:
        status, body = probe()
    finally:
        _close_stale_connections()
    payload = orjson.dumps(body)
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            (
                "Cache-Control",
                "max-age=0, no-cache, no-store, must-revalidate, private",
            ),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else payload]


def _close_stale_connections() -> None:
    """Close connections past their age or broken, as Django does when a
    request finishes: this path sends none of Django's request signals, and a
    key lookup may have opened a connection.

    A connection inside a transaction is left alone: it is not this path's
    (only tests wrap requests in one).
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _ingest_request(environ: dict[str, Any], match: re.Match[str]) -> IngestRequest:
    raw_length = environ.get("CONTENT_LENGTH")
    content_length: int | None
    try:
        content_length = int(raw_length) if raw_length else None
    except ValueError:
        content_length = None
    if content_length is None and not environ.get("wsgi.input_terminated"):
        # Without a length or a server that marks the end of the body,
        # reading could block for ever; such a body reads as empty.
        content_length = 0
    headers = {name: environ[key] for name, key in _HEADERS.items() if key in environ}
    return IngestRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        endpoint=match.group(2),
        project_id=int(match.group(1)),
        headers=headers,
        query_string=environ.get("QUERY_STRING", ""),
        body=environ["wsgi.input"],
        content_length=content_length,
        client_ip=environ.get("REMOTE_ADDR"),
    )
