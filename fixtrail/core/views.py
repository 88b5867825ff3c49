"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from fixtrail.queue import QueueUnavailable, read_backlog


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process can serve requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the queue are reachable, else 503.

    The body also reports the queue's backlog (size and age of the oldest
    item), so a load balancer or an operator can see digest falling behind.
    """
    body: dict = {"database": "ok", "queue": "ok"}
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
        }
    except QueueUnavailable as exc:
        body["queue"] = f"error: {exc}"
        status = 503
    body["status"] = "ok" if status == 200 else "unavailable"
    return JsonResponse(body, status=status)
