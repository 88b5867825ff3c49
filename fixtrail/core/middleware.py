"""Middleware that applies to every page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# No inline script and no third-party origin: everything in an event is
# attacker-controlled, so even an escaping bug must not be able to run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def policy() -> str:
    """Return the policy, with the sign-on providers' origins allowed as
    form targets: a sign-on button posts here and is redirected there, and
    browsers hold that redirect to form-action too."""
    from fixtrail.security.sso import sign_on_origins

    origins = sign_on_origins()
    if not origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(origins)
    )


def content_security_policy(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Add a strict Content-Security-Policy header to HTML responses."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", policy())
        return response

    return middleware
