"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from fixtrail.core.metrics import render
from fixtrail.lib.outbound import parse_networks
from fixtrail.queue import QueueUnavailable, read_backlog
from fixtrail.storage import blob_store

# Who may scrape /metrics without a token.
_INTERNAL = parse_networks("loopback,private")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process can serve requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the queue are reachable, else 503.

    The body also reports the queue's backlog (size and age of the oldest
    item), so a load balancer or an operator can see digest falling behind,
    and lists the unreachable dependencies under ``missing``. An unreachable
    blob store is listed too, with status "degraded" but still 200: events
    without attachments are still taken, and taking every web process out of
    the load balancer would refuse them as well.
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
    return JsonResponse(body, status=status)


def _storage_status() -> str:
    # A missing key answers fast on every store and needs only read access.
    try:
        blob_store().size("ready-probe")
    except OSError as exc:
        return f"error: {exc}"
    return "ok"


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve Prometheus metrics to a scraper allowed by _may_scrape."""
    if not _may_scrape(request):
        raise Http404
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request: HttpRequest) -> bool:
    """With FIXTRAIL_METRICS_TOKEN set, the scraper must send it as a bearer
    token; without one, only loopback and private addresses may scrape, and
    nobody behind a proxy (every request would come from the proxy)."""
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(sent.encode(), token.encode())
    if settings.BEHIND_PROXY:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _INTERNAL)
