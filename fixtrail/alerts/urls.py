from __future__ import annotations

from django.urls import path

from fixtrail.alerts import views

app_name = "alerts"

_RULES = "organizations/<slug:org_slug>/projects/<slug:project_slug>/alerts/"

urlpatterns = [
    path(_RULES, views.rule_list, name="rules"),
    path(_RULES + "new/", views.rule_create, name="create"),
    path(_RULES + "<int:pk>/", views.rule_detail, name="detail"),
    path(_RULES + "<int:pk>/delete/", views.rule_delete, name="delete"),
    path(_RULES + "<int:pk>/test/", views.rule_test, name="test"),
    path(
        _RULES + "<int:pk>/deliveries/<int:job_id>/retry/",
        views.delivery_retry,
        name="retry",
    ),
    path("alerts/settings/", views.settings_page, name="settings"),
    path("alerts/mute/", views.toggle_mute, name="mute"),
]
