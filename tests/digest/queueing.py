"""Helpers for digest tests: build event payloads, queue them the way ingest
does (fixtrail.ingest.items), and digest what is queued."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from django.conf import settings

from fixtrail.digest.batches import digest_messages
from fixtrail.digest.prepare import BatchResult
from fixtrail.digest.worker import digest_once
from fixtrail.ingest.items import encode_item
from fixtrail.projects.models import Project
from fixtrail.queue import open_queue

# A fixed moment for tests that need one; events "happen" at it unless told.
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
CONSUMER = "test-digest"


def python_error(
    *,
    type_: str = "ValueError",
    value: str = "invalid literal for int() with base 10: 'abc'",
    function: str = "parse_quantity",
    module: str = "shop.cart",
    lineno: int = 42,
    context_line: str = "    return int(raw)",
    **overrides: Any,
) -> dict[str, Any]:
    """Return a Python SDK-like error event with one in-app frame."""
    event = {
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "module": None,
                    "mechanism": {"type": "generic", "handled": True},
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "django/core/handlers/base.py",
                                "module": "django.core.handlers.base",
                                "function": "_get_response",
                                "lineno": 197,
                                "context_line": "response = wrapped(request)",
                                "in_app": False,
                            },
                            {
                                "filename": module.replace(".", "/") + ".py",
                                "module": module,
                                "function": function,
                                "lineno": lineno,
                                "context_line": context_line,
                                "in_app": True,
                            },
                        ]
                    },
                }
            ]
        },
    }
    event.update(overrides)
    return event


def queue_payloads(
    project: Project,
    payloads: list[dict[str, Any] | bytes],
    *,
    received_at: dt.datetime = T0,
    item_type: str = "event",
    **header: Any,
) -> list[str]:
    """Queue ``payloads`` for ``project`` as ingest would; return their event
    ids. Each payload's ``timestamp`` defaults to ``received_at``, its event
    id to its own ``event_id`` or a new one."""
    bodies, ids = [], []
    for payload in payloads:
        own_id = payload.get("event_id") if isinstance(payload, dict) else None
        event_id = header.get("event_id") or own_id or uuid.uuid4().hex
        if isinstance(payload, dict):
            payload = {"timestamp": received_at.timestamp(), **payload}
            raw = orjson.dumps(payload)
        else:
            raw = payload
        item_header = {
            "type": item_type,
            "project_id": project.pk,
            "event_id": event_id,
            "received_at": received_at.timestamp(),
            "clock_drift": 0.0,
            "client_ip": "203.0.113.7",
            "key_id": 1,
            **header,
        }
        bodies.append(encode_item(item_header, raw))
        ids.append(event_id)
    queue_bodies(bodies)
    return ids


def queue_bodies(bodies: list[bytes]) -> None:
    """Put raw queue message bodies in the test's queue."""
    queue = open_queue(settings.QUEUE_URL)
    try:
        queue.put_many(bodies)
    finally:
        queue.close()


def digest_payloads(
    project: Project, payloads: list[dict[str, Any]], *, received_at: dt.datetime
) -> list[str]:
    """Queue ``payloads`` and drain the queue with the worker's own unit of
    work (``digest_once``, at the real time); return the event ids."""
    ids = queue_payloads(project, payloads, received_at=received_at)
    queue = open_queue(settings.QUEUE_URL)
    try:
        while digest_once(queue, CONSUMER):
            pass
    finally:
        queue.close()
    return ids


def digest_queued(now: dt.datetime | None = None) -> BatchResult:
    """Digest everything queued, batch by batch, as of ``now`` (default:
    T0 plus a minute); return the summed result."""
    queue = open_queue(settings.QUEUE_URL)
    total = BatchResult()
    try:
        while messages := queue.read(CONSUMER, 500):
            total.add(
                digest_messages(messages, now=now or T0 + dt.timedelta(minutes=1))
            )
            queue.ack([m.id for m in messages])
    finally:
        queue.close()
    return total
