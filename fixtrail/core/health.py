"""Liveness and readiness, as data: what /_health and /_ready answer.

Both are served ahead of Django's URL resolver and middleware by the lean
WSGI path (fixtrail.ingest.wsgi), like the SDK endpoints: a load balancer
asks every few seconds, and a web process that only takes events never
needs to load the URL configuration and every view behind it (about 25 MB
a process). The Django views in fixtrail.core.views answer the same.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from fixtrail.queue import QueueUnavailable, read_backlog
from fixtrail.storage import blob_store

HEALTH_PATH = "/_health"
READY_PATH = "/_ready"


def liveness() -> tuple[int, dict[str, Any]]:
    """Return the status and body of /_health: the process is serving."""
    return 200, {"status": "ok"}


def readiness() -> tuple[int, dict[str, Any]]:
    """Return the status and body of /_ready: 200 when the database and the
    queue are reachable, else 503.

    The body also reports the queue's backlog (size and age of the oldest
    item), so a load balancer or an operator can see digest falling behind,
    and lists the unreachable dependencies under ``missing``. An unreachable
    blob store is listed too, with status "degraded" but still 200: events
    without attachments are still taken, and taking every web process out of
    the load balancer would refuse them as well.
    """
    body: dict[str, Any] = {"database": "ok", "queue": "ok"}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        body["database"] = f"error: {exc.__class__.__name__}"
        status = 503
    try:
        backlog = read_backlog(settings.QUEUE_URL)
        body["backlog"] = {
            "size": backlog.size,
            "oldest_age_seconds": backlog.oldest_age_seconds,
            # Past it ingest answers 429; None when unbounded.
            "max_size": settings.QUEUE_MAX_ITEMS or None,
        }
    except QueueUnavailable as exc:
        body["queue"] = f"error: {exc}"
        status = 503
    body["storage"] = _storage_status()
    body["missing"] = [
        name for name in ("database", "queue", "storage") if body[name] != "ok"
    ]
    if status != 200:
        body["status"] = "unavailable"
    else:
        body["status"] = "degraded" if body["missing"] else "ok"
    return status, body


def _storage_status() -> str:
    # A missing key answers fast on every store and needs only read access.
    try:
        blob_store().size("ready-probe")
    except OSError as exc:
        return f"error: {exc}"
    return "ok"


# What each path answers, for the lean WSGI path.
PROBES = {HEALTH_PATH: liveness, READY_PATH: readiness}
