"""Send members of an organization that requires two-factor to enrol."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from fixtrail.security.twofactor import has_two_factor, two_factor_required

SSO_SESSION_KEY = "security:sso"
# Pages a member must still reach before enrolling: enrolment itself, the
# way out, and the API, whose tokens are not browser sessions.
OPEN_PREFIXES = ("/account/security/", "/logout/", "/static/", "/api/", "/_")


def require_two_factor(get_response: Callable) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        if _must_enroll(request):
            messages.warning(
                request,
                "An organization you belong to requires two-factor "
                "authentication. Turn it on to continue.",
            )
            return redirect(reverse("security:two_factor"))
        return get_response(request)

    return middleware


def _must_enroll(request: HttpRequest) -> bool:
    if request.path.startswith(OPEN_PREFIXES):
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    # Single sign-on leaves the second factor to the identity provider.
    if request.session.get(SSO_SESSION_KEY):
        return False
    return two_factor_required(user) and not has_two_factor(user)
