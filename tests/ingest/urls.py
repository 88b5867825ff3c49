"""The root URLconf plus the SDK endpoints, for tests run before the root
includes fixtrail.ingest.urls itself."""

from __future__ import annotations

from django.urls import include, path

from fixtrail.urls import urlpatterns as root_patterns

urlpatterns = [path("", include("fixtrail.ingest.urls")), *root_patterns]
