from __future__ import annotations

from django.urls import path

from fixtrail.security import views

app_name = "security"

urlpatterns = [
    path("login/code/", views.verify, name="verify"),
    path("account/security/", views.overview, name="overview"),
    path("account/security/two-factor/", views.two_factor, name="two_factor"),
    path(
        "account/security/two-factor/off/",
        views.disable_two_factor,
        name="disable_two_factor",
    ),
    path(
        "account/security/recovery-codes/",
        views.new_recovery_codes,
        name="recovery_codes",
    ),
    path(
        "account/security/sessions/<int:pk>/revoke/",
        views.revoke,
        name="revoke_session",
    ),
    path(
        "organizations/<slug:org_slug>/security/",
        views.organization_policy,
        name="organization",
    ),
]
