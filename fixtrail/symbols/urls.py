from __future__ import annotations

from django.urls import path

from fixtrail.symbols import views

app_name = "symbols"

urlpatterns = [
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/artifacts/",
        views.artifacts,
        name="artifacts",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/artifacts/<int:pk>/delete/",
        views.delete,
        name="delete",
    ),
]
