from __future__ import annotations

from django.urls import path, register_converter

from fixtrail.issues import views


class EventIdConverter:
    """A 32-hex event id (dashes allowed, as UUIDs print), or the aliases
    "latest" and "oldest"."""

    regex = r"[0-9a-fA-F]{32}|[0-9a-fA-F-]{36}|latest|oldest"

    def to_python(self, value: str) -> str:
        return value.replace("-", "").lower() if len(value) == 36 else value.lower()

    def to_url(self, value: str) -> str:
        return value


register_converter(EventIdConverter, "event_id")

app_name = "issues"

urlpatterns = [
    path(
        "organizations/<slug:org_slug>/projects/<slug:project_slug>/",
        views.project_issues,
        name="project",
    ),
    path(
        "organizations/<slug:org_slug>/issues/",
        views.organization_issues,
        name="organization",
    ),
    path(
        "organizations/<slug:org_slug>/issues/bulk/",
        views.bulk_action,
        name="bulk",
    ),
    path(
        "organizations/<slug:org_slug>/searches/",
        views.save_search,
        name="save_search",
    ),
    path(
        "organizations/<slug:org_slug>/searches/<int:pk>/delete/",
        views.delete_search,
        name="delete_search",
    ),
    path("issues/<int:pk>/", views.issue_detail, name="detail"),
    path("issues/<int:pk>/action/", views.issue_action, name="action"),
    path("issues/<int:pk>/comments/", views.add_comment, name="comment"),
    path("issues/<int:pk>/events/", views.issue_events, name="events"),
    path(
        "issues/<int:pk>/events/<event_id:event_id>/",
        views.event_detail,
        name="event",
    ),
    path(
        "issues/<int:pk>/events/<event_id:event_id>/json/",
        views.event_json,
        name="event_json",
    ),
    path(
        "issues/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
