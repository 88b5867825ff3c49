"""The ``/api/v1/`` NinjaAPI and its documentation page."""

from __future__ import annotations

from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from ninja import NinjaAPI

from fixtrail.api.errors import install_error_handlers
from fixtrail.api.renderers import OrjsonRenderer
from fixtrail.api.v1 import (
    alerts,
    forwarding,
    grouping,
    imports,
    integrations,
    issues,
    merge_requests,
    ownership,
    projects,
    releases,
    tokens,
)
from fixtrail.security import api as security_api
from fixtrail.usage import api as usage_api

DESCRIPTION = """\
Everything Fixtrail's pages can do, for scripts and other tools.

Authenticate with an API token (Account → API tokens, or `fixtrail bootstrap`)
sent as `Authorization: Bearer sntryu_…`. Each endpoint needs one of
Sentry's scopes (`org:read`, `project:read`, `project:write`, `event:read`,
`event:write`, `event:admin`, `member:read`); the token's user also needs a
role in the organization that allows the action: viewers read, members
triage, admins manage projects and keys.

Errors are `{"detail": "…"}` with 400, 401, 403, 404 or 429. Requests are
limited per token per minute (`Retry-After` says when to try again).

The Sentry-compatible API that sentry-cli and GitLab use is under `/api/0/`.
"""

# The docs page loads Swagger UI's script and stylesheet (shipped inside
# django-ninja) from this server, never from a CDN. Swagger UI sets inline
# styles, which the site-wide policy forbids, so this page alone allows
# them; scripts stay restricted to 'self'.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

api = NinjaAPI(
    title="Fixtrail API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url=None,
    renderer=OrjsonRenderer(),
)
install_error_handlers(api)
api.add_router("", projects.router)
api.add_router("", issues.router)
api.add_router("", tokens.router)
api.add_router("", integrations.router)
api.add_router("", releases.router)
api.add_router("", merge_requests.router)
api.add_router("", alerts.router)
api.add_router("", ownership.router)
api.add_router("", grouping.router)
api.add_router("", security_api.router)
api.add_router("", usage_api.router)
api.add_router("", imports.router)
api.add_router("", forwarding.router)


# Swagger UI's files inside the django-ninja package, by the name the page
# asks for; nothing else is served from there.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "swagger-ui.css": "text/css",
}
DOCS_ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
# The files change only with django-ninja's version.
DOCS_ASSET_MAX_AGE_SECONDS = 24 * 3600


def docs(request: HttpRequest) -> HttpResponse:
    """Serve the browsable documentation of /api/v1/ (Swagger UI)."""
    settings = {
        "url": reverse("api-v1:openapi-json"),
        "layout": "BaseLayout",
        "deepLinking": True,
    }
    response = render(
        request, "api/docs.html", {"title": api.title, "swagger_settings": settings}
    )
    response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """Serve one of Swagger UI's files for the docs page."""
    if name not in DOCS_ASSETS:
        raise Http404("No such file")
    response = FileResponse(
        (DOCS_ASSETS_DIR / name).open("rb"), content_type=DOCS_ASSETS[name]
    )
    response["Cache-Control"] = f"public, max-age={DOCS_ASSET_MAX_AGE_SECONDS}"
    return response
