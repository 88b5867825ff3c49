"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from fixtrail.core.health import liveness, readiness
from fixtrail.core.metrics import render
from fixtrail.lib.outbound import parse_networks

# Who may scrape /metrics without a token.
_INTERNAL = parse_networks("loopback,private")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process can serve requests."""
    status, body = liveness()
    return JsonResponse(body, status=status)


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Answer as fixtrail.core.health.readiness says."""
    status, body = readiness()
    return JsonResponse(body, status=status)


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
