from __future__ import annotations

from django.urls import path

from fixtrail.releases import merge_request_views as views

app_name = "merge_requests"

urlpatterns = [
    path(
        "organizations/<slug:org_slug>/merge-requests/",
        views.merge_request_list,
        name="list",
    ),
    path(
        "organizations/<slug:org_slug>/merge-requests/<int:pk>/",
        views.merge_request_detail,
        name="detail",
    ),
    path(
        "organizations/<slug:org_slug>/merge-requests/<int:pk>/note/",
        views.merge_request_note,
        name="note",
    ),
]
