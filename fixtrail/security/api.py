"""``/api/v1/sessions``: instance administrators list and end sign-ins.

Only a token whose user is an instance administrator (``is_superuser``)
may call these; anyone else gets 403. A user ends their own sessions from
Account → Security.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from fixtrail.api.auth import scoped
from fixtrail.api.errors import FORBIDDEN, ApiError
from fixtrail.security.models import UserSession
from fixtrail.security.sessions import active_sessions, revoke_session

router = Router(tags=["sessions"])
ANY_SCOPE = ""


class SessionOut(Schema):
    id: int
    user: str
    ip_address: str | None
    user_agent: str
    method: str
    created_at: dt.datetime


def session_out(row: UserSession) -> dict:
    return {
        "id": row.pk,
        "user": row.user.email,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "method": row.method,
        "created_at": row.created_at,
    }


def _require_instance_admin(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise ApiError(403, f"{FORBIDDEN} This needs an instance administrator.")


@router.get("/sessions", response=list[SessionOut], auth=scoped(ANY_SCOPE))
def sessions(request: HttpRequest, user: str = "") -> list[dict]:
    """Signed-in browser sessions, newest first; ``user`` filters by e-mail."""
    _require_instance_admin(request)
    rows = active_sessions()
    if user:
        rows = [r for r in rows if r.user.email == user.strip().lower()]
    return [session_out(r) for r in rows]


@router.delete("/sessions/{session_id}", response={204: None}, auth=scoped(ANY_SCOPE))
def end_session(request: HttpRequest, session_id: int) -> Status:
    """End one session: its browser is signed out at its next request."""
    _require_instance_admin(request)
    revoke_session(get_object_or_404(UserSession, pk=session_id))
    return Status(204, None)
