"""The steps of a sign-in after the password: the second factor, if any.

A user with two-factor on is not logged in by the password alone: the
session holds a pending sign-in (user, target, when) and the code page
finishes it within ``PENDING_SECONDS``.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from fixtrail.security.models import UserSession
from fixtrail.security.twofactor import has_two_factor

PENDING_KEY = "security:pending"
# Five minutes to open the authenticator app and type a code.
PENDING_SECONDS = 300
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def finish_password_login(request: HttpRequest, user, target: str) -> HttpResponse:
    """Log in a user whose password was right, or ask for their code first."""
    if has_two_factor(user):
        request.session[PENDING_KEY] = {
            "user": user.pk,
            "target": target,
            "at": time.time(),
        }
        return redirect("security:verify")
    request.login_method = UserSession.Method.PASSWORD
    login(request, user, backend=MODEL_BACKEND)
    return redirect(target)


def pending_user(request: HttpRequest):
    """Return the user waiting for their code, or None (also once expired)."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def finish_two_factor_login(request: HttpRequest, user) -> HttpResponse:
    """Log in the pending user after a right code; go where they were going."""
    target = request.session.pop(PENDING_KEY)["target"]
    request.login_method = UserSession.Method.TWO_FACTOR
    login(request, user, backend=MODEL_BACKEND)
    return redirect(target)
