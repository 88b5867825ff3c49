"""Shared pieces of the triage view tests (this module holds no tests).

Events go through the real pipeline: a payload is queued the way ingest
queues it (fixtrail.ingest.items) and the digest worker's unit of work
(``digest_once``) stores it, so the pages read what digest really writes.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils import timezone

from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project
from tests.digest.queueing import digest_payloads

PYTHON_ERROR: dict[str, Any] = {
    "platform": "python",
    "level": "error",
    "release": "backend@1.0.0",
    "environment": "production",
    "exception": {
        "values": [
            {
                "type": "ZeroDivisionError",
                "value": "division by zero",
                "mechanism": {"type": "generic", "handled": False},
                "stacktrace": {
                    "frames": [
                        {
                            "filename": "django/core/handlers/base.py",
                            "module": "django.core.handlers.base",
                            "function": "_get_response",
                            "lineno": 197,
                            "context_line": "    response = wrapped(request)",
                            "pre_context": ["try:"],
                            "post_context": ["except Exception:"],
                            "in_app": False,
                        },
                        {
                            "filename": "shop/cart.py",
                            "module": "shop.cart",
                            "function": "average_price",
                            "lineno": 42,
                            "context_line": "    return total / count",
                            "pre_context": ["def average_price(total, count):"],
                            "post_context": [""],
                            "in_app": True,
                            "vars": {"total": "10", "count": "0"},
                        },
                    ]
                },
            }
        ]
    },
    "tags": {"browser": "Firefox 128", "server": "web-1"},
    "user": {"id": "42", "email": "dana@example.org"},
}


def error_event(**overrides: Any) -> dict[str, Any]:
    """Return a Python SDK-like error event; ``overrides`` replace keys."""
    event = copy.deepcopy(PYTHON_ERROR)
    event.update(overrides)
    return event


def send_events(project: Project, payloads: list[dict[str, Any]]) -> list[str]:
    """Queue ``payloads`` as ingest would, digest them, and return their ids."""
    return digest_payloads(project, payloads, received_at=timezone.now())


def send_event(project: Project, payload: dict[str, Any]) -> tuple[Issue, Event]:
    """Send one event; return its issue and stored event."""
    (event_id,) = send_events(project, [payload])
    event = Event.objects.select_related("issue").get(
        project=project, event_id=event_id
    )
    return event.issue, event
