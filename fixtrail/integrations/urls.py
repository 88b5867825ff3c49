from __future__ import annotations

from django.urls import path

from fixtrail.integrations import views

app_name = "integrations"

urlpatterns = [
    path(
        "organizations/<slug:org_slug>/integrations/",
        views.integration_list,
        name="list",
    ),
    path(
        "organizations/<slug:org_slug>/integrations/add/<slug:kind>/",
        views.add_integration,
        name="add",
    ),
    path(
        "organizations/<slug:org_slug>/integrations/<slug:name>/test/",
        views.check_integration,
        name="check",
    ),
    path(
        "organizations/<slug:org_slug>/integrations/<slug:name>/delete/",
        views.delete_integration,
        name="delete",
    ),
    path(
        "organizations/<slug:org_slug>/integrations/<slug:name>/rules/",
        views.add_rule,
        name="add_rule",
    ),
    path(
        "organizations/<slug:org_slug>/integrations/<slug:name>/rules/<int:pk>/delete/",
        views.delete_rule,
        name="delete_rule",
    ),
    path(
        "organizations/<slug:org_slug>/issues/tickets/",
        views.bulk_create,
        name="bulk",
    ),
    path("issues/<int:pk>/tickets/", views.ticket_panel, name="panel"),
    path("issues/<int:pk>/tickets/create/", views.create_ticket, name="create"),
    path("issues/<int:pk>/tickets/link/", views.link_ticket, name="link"),
    path(
        "issues/<int:pk>/tickets/<int:link_id>/unlink/",
        views.unlink_ticket,
        name="unlink",
    ),
    path(
        "issues/<int:pk>/tickets/requests/<int:job_id>/retry/",
        views.retry_ticket,
        name="retry",
    ),
    path("hooks/tickets/<uuid:hook_id>/", views.webhook, name="webhook"),
]
