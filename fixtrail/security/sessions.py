"""The register of signed-in sessions, so users and operators can end them.

A row is written when someone signs in (Django's ``user_logged_in``) and
removed at logout or revocation; revoking deletes the Django session too,
so its cookie stops working at the next request.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.dispatch import receiver
from django.utils import timezone

from fixtrail.security.models import UserSession
from fixtrail.security.throttle import client_address

USER_AGENT_CHARS = 300


@receiver(user_logged_in, dispatch_uid="security.record_session")
def record_session(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip_address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_CHARS],
            "method": getattr(request, "login_method", UserSession.Method.OTHER),
            "created_at": timezone.now(),
        },
    )


@receiver(user_logged_out, dispatch_uid="security.forget_session")
def forget_session(sender, request, user, **kwargs) -> None:
    if request is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def active_sessions(user=None):
    """Return registered sessions that have not expired, newest first.

    Rows whose Django session is gone (expired and cleared, or ended
    elsewhere) are deleted on the way. ``user=None`` means everyone's.
    """
    rows = UserSession.objects.select_related("user").order_by("-created_at")
    if user is not None:
        rows = rows.filter(user=user)
    live = set(
        Session.objects.filter(
            session_key__in=[r.session_key for r in rows],
            expire_date__gt=timezone.now(),
        ).values_list("session_key", flat=True)
    )
    stale = [r.pk for r in rows if r.session_key not in live]
    if stale:
        UserSession.objects.filter(pk__in=stale).delete()
    return [r for r in rows if r.session_key in live]


def revoke_session(row: UserSession) -> None:
    """End a session: its cookie no longer signs anyone in."""
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()


def revoke_all_sessions(user, keep: str | None = None) -> int:
    """End all of a user's sessions except ``keep``; return how many ended."""
    rows = UserSession.objects.filter(user=user).exclude(session_key=keep or "")
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)
