from __future__ import annotations

from django.urls import re_path

from fixtrail.ingest import views

app_name = "ingest"

# SDKs build these URLs from the DSN, with or without the trailing slash;
# matching both here avoids APPEND_SLASH redirecting a POST.
urlpatterns = [
    re_path(
        r"^api/(?P<project_id>[0-9]{1,18})/(?P<endpoint>envelope|store|security)/?$",
        views.sdk_endpoint,
        name="sdk_endpoint",
    ),
]
