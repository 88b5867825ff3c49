"""URLs of both web APIs, included under ``api/``.

Only the literal first segments ``0``, ``v1`` and ``docs`` are matched here,
so the SDK endpoints ``/api/<project id>/envelope|store|security/`` (routed
by fixtrail.ingest.urls) never reach these patterns: project ids start at
1, and ``0`` is Sentry's API version, never a project.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from fixtrail.api.errors import NOT_FOUND
from fixtrail.api.sentry.api import api as sentry_api
from fixtrail.api.v1.api import api as v1_api
from fixtrail.api.v1.api import docs, docs_asset
from fixtrail.projects import feedback_views

# No app_name: ninja reverses its own URLs as "api-0:..." and "api-v1:...",
# which a surrounding namespace would break.


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Answer unknown API paths in the API's error shape, not an HTML page.

    Exempt from CSRF: a POST to an endpoint that does not exist must get
    this 404, not Django's HTML "CSRF verification failed" page.
    """
    return JsonResponse({"detail": NOT_FOUND}, status=404)


urlpatterns = [
    path("0/", sentry_api.urls),
    re_path(r"^0/(?P<rest>.*)$", not_found),
    path("v1/", v1_api.urls),
    re_path(r"^v1/(?P<rest>.*)$", not_found),
    path("docs", docs, name="api-docs"),
    path("docs/", docs),
    path("docs/assets/<str:name>", docs_asset, name="api-docs-asset"),
    # Sentry.showReportDialog() builds this URL from the DSN's host.
    path("embed/error-page/", feedback_views.error_page, name="error_page"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
