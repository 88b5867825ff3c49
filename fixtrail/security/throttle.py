"""Failed sign-in throttling, through django-axes.

django-axes counts failures (Django's ``user_login_failed`` signal) per
account and per client address, and its authentication backend refuses
both a locked account and a locked address until the lock expires
(settings.AXES_COOLOFF_TIME). This module holds the three hooks axes calls:
who the client is, which account was tried, and the page a locked client
sees.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_address(request: HttpRequest) -> str | None:
    """Return the client's IP address.

    Behind a proxy (FIXTRAIL_BEHIND_PROXY) that is the last address the
    proxy appended to X-Forwarded-For; earlier entries come from the client
    and could name anyone, which would let a client lock out someone else.
    """
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")


def account_name(request: HttpRequest, credentials: dict | None) -> str:
    """Return the e-mail address a sign-in attempt was for, lower-cased."""
    email = (credentials or {}).get("email") or request.POST.get("email", "")
    return str(email).strip().lower()


def lock_message() -> str:
    """Return what a locked-out client is told, with the lock's length."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        "Too many failed sign-ins for this account or from your address. "
        f"Sign-in is locked for {minutes} minutes; try again later."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict
) -> HttpResponse:
    """Render the sign-in page with the lock message (429 Too Many Requests)."""
    from fixtrail.accounts.forms import LoginForm
    from fixtrail.security.sso import sign_in_options

    form = LoginForm(initial={"email": account_name(request, credentials)})
    ctx = {"form": form, "error": lock_message(), **sign_in_options()}
    return render(request, "accounts/login.html", ctx, status=429)


def is_locked(request: HttpRequest, email: str) -> bool:
    """Tell whether sign-in for ``email`` from this client is locked now."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"email": email})


def record_failure(request: HttpRequest, email: str) -> None:
    """Count a failed second step (a wrong code) like a wrong password."""
    user_login_failed.send(
        sender=__name__, credentials={"email": email}, request=request
    )
