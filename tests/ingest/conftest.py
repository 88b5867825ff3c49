"""Fixtures for the ingest tests: an SDK-side HTTP client for both entry
points (the lean WSGI path and the Django views), and queue read-back."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.test import Client

from fixtrail.ingest.items import decode_item, item_payload
from fixtrail.queue import open_queue


@dataclass
class Answer:
    """What an SDK gets back."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class WsgiSdk:
    """Posts to the lean WSGI application, the way granian calls it."""

    def __init__(self) -> None:
        from django.core.wsgi import get_wsgi_application

        from fixtrail.ingest.wsgi import wrap

        self.app = wrap(get_wsgi_application())

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Answer:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.7",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if not chunked:
            environ["CONTENT_LENGTH"] = str(len(body))
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        captured: dict[str, Any] = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}

        chunks = self.app(environ, start_response)
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return Answer(captured["status"], captured["headers"], content)


class DjangoSdk:
    """Posts through Django's handler, URL resolver and middleware."""

    def __init__(self) -> None:
        self.client = Client(REMOTE_ADDR="203.0.113.7")

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Answer:
        assert not chunked, "Django's handler reads no body without a length"
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", "application/octet-stream")
        response = self.client.generic(
            method, path, data=body, content_type=content_type, headers=headers
        )
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.items()},
            response.content,
        )


@pytest.fixture(params=["wsgi", "django"])
def sdk(request, db):
    """An HTTP client for the SDK endpoints, once per entry point."""
    return WsgiSdk() if request.param == "wsgi" else DjangoSdk()


@pytest.fixture
def wsgi_sdk(db):
    """An HTTP client for the lean WSGI path only."""
    return WsgiSdk()


def queued() -> list[tuple[dict, bytes]]:
    """Return every message in the test's queue as (header, payload), oldest
    first, acknowledging them."""
    queue = open_queue(settings.QUEUE_URL)
    try:
        messages = queue.read("tests", count=1000)
        queue.ack([message.id for message in messages])
    finally:
        queue.close()
    items = [decode_item(message.body) for message in messages]
    return [(header, item_payload(header, payload)) for header, payload in items]


def queued_of_type(item_type: str) -> list[tuple[dict, bytes]]:
    """Return the queued messages of one type (stats ride along with events)."""
    return [item for item in queued() if item[0]["type"] == item_type]


def auth_header(public_key: str) -> dict[str, str]:
    return {
        "X-Sentry-Auth": (
            f"Sentry sentry_key={public_key}, sentry_version=7, "
            "sentry_client=fixtrail-tests/1.0"
        )
    }


def new_event_id() -> str:
    return uuid.uuid4().hex


def envelope(
    items: list[tuple[dict, bytes]],
    headers: dict | None = None,
) -> bytes:
    """Build an envelope; each item gets its ``length`` unless given one."""
    lines = [orjson.dumps(headers if headers is not None else {})]
    for item_headers, payload in items:
        lines.append(orjson.dumps({"length": len(payload), **item_headers}))
        lines.append(payload)
    return b"\n".join(lines) + b"\n"


def event_envelope(event_id: str, event: dict | None = None, **headers) -> bytes:
    """Build an envelope holding one event."""
    payload = orjson.dumps(event or {"event_id": event_id, "message": "hello"})
    return envelope([({"type": "event"}, payload)], {"event_id": event_id, **headers})
