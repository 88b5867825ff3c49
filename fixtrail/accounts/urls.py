from __future__ import annotations

from django.urls import path

from fixtrail.accounts import views

app_name = "accounts"

urlpatterns = [
    path("setup/", views.setup_view, name="setup"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("organizations/<slug:org_slug>/members/", views.members, name="members"),
]
