from __future__ import annotations

from django.urls import path

from fixtrail.projects import feedback_views, views

app_name = "projects"

urlpatterns = [
    path("organizations/<slug:org_slug>/", views.organization, name="organization"),
    path(
        "organizations/<slug:org_slug>/projects/new/",
        views.create_project,
        name="create",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/settings/",
        views.project_settings,
        name="settings",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/ownership/",
        views.project_ownership,
        name="ownership",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/grouping/",
        views.project_grouping,
        name="grouping",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/stats/",
        views.project_stats,
        name="stats",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/keys/",
        views.create_key,
        name="create_key",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/keys/<int:pk>/toggle/",
        views.toggle_key,
        name="toggle_key",
    ),
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/feedback/",
        feedback_views.project_feedback,
        name="feedback",
    ),
    path(
        "issues/<int:pk>/feedback/",
        feedback_views.issue_feedback,
        name="issue_feedback",
    ),
]
