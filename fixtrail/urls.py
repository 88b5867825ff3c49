from __future__ import annotations

from django.urls import include, path

from fixtrail.accounts import views as account_views
from fixtrail.core import views as core_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("_health", core_views.health, name="health"),
    path("_ready", core_views.ready, name="ready"),
    path("metrics", core_views.metrics, name="metrics"),
    # The SDK endpoints come first: /api/<project id>/… is theirs.
    path("", include("fixtrail.ingest.urls")),
    path("api/", include("fixtrail.api.urls")),
    path("", include("fixtrail.accounts.urls")),
    path("", include("fixtrail.projects.urls")),
    path("", include("fixtrail.issues.urls")),
    path("", include("fixtrail.integrations.urls")),
    path("", include("fixtrail.releases.urls")),
    path("", include("fixtrail.releases.merge_request_urls")),
    path("", include("fixtrail.symbols.urls")),
    path("", include("fixtrail.alerts.urls")),
    path("", include("fixtrail.security.urls")),
    path("sso/", include("fixtrail.security.sso_urls")),
    path("", include("fixtrail.usage.urls")),
    path("", include("fixtrail.adoption.urls")),
]

handler403 = "fixtrail.core.errors.permission_denied"
handler404 = "fixtrail.core.errors.page_not_found"
handler500 = "fixtrail.core.errors.server_error"
