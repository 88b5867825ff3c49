from __future__ import annotations

from django.urls import path

from fixtrail.adoption import views

app_name = "adoption"

urlpatterns = [
    path(
        "organizations/<slug:org_slug>/import/sentry/",
        views.import_sentry,
        name="import_sentry",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/forwarding/",
        views.project_forwarding,
        name="forwarding",
    ),
]
