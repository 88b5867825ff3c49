from __future__ import annotations

from django.urls import path

from fixtrail.releases import views

app_name = "releases"

urlpatterns = [
    # The version is one percent-encoded segment in links; "path" also
    # takes a decoded "/" (a version such as "feature/cart").
    path(
        "organizations/<slug:org_slug>/releases/<path:version>/",
        views.release_detail,
        name="detail",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/releases/",
        views.project_releases,
        name="project",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/repositories/",
        views.link_repository,
        name="link",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>"
        "/repositories/<int:pk>/unlink/",
        views.unlink_repository,
        name="unlink",
    ),
]
