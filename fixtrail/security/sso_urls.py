"""The parts of allauth's URLs that single sign-on needs, under /sso/.

allauth's own account pages (its login, sign-up, password forms) are not
mounted: Fixtrail's login page, with its throttle and two-factor step,
stays the only password sign-in.
"""

from __future__ import annotations

from allauth.socialaccount import views as social_views
from django.urls import include, path
from django.views.generic import RedirectView

from fixtrail.security import github

urlpatterns = [
    # allauth names these "<provider>_login" and "<provider>_callback". They
    # come first: OpenID Connect's "<provider_id>/login/" would take them.
    path("github/login/", github.oauth2_login, name="github_login"),
    path("github/login/callback/", github.oauth2_callback, name="github_callback"),
    path("", include("allauth.socialaccount.providers.openid_connect.urls")),
    path(
        "login/cancelled/",
        social_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("login/error/", social_views.login_error, name="socialaccount_login_error"),
    path("signup/", social_views.signup, name="socialaccount_signup"),
    # allauth's pages link to "account_login"; that is Fixtrail's login.
    path(
        "login/",
        RedirectView.as_view(pattern_name="accounts:login"),
        name="account_login",
    ),
]
