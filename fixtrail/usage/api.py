"""``/api/v1/usage``: the instance usage report, for instance administrators."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from fixtrail.api.auth import scoped
from fixtrail.api.errors import FORBIDDEN, ApiError, BadRequest
from fixtrail.usage.report import MAX_DAYS, usage_report

router = Router(tags=["usage"])
ANY_SCOPE = ""


@router.get("/usage", auth=scoped(ANY_SCOPE))
def usage(request: HttpRequest, days: int = 30) -> dict:
    """The usage report for the last ``days`` days (1–366)."""
    if not request.user.is_superuser:
        raise ApiError(403, f"{FORBIDDEN} This needs an instance administrator.")
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be between 1 and {MAX_DAYS}.")
    return usage_report(timezone.now(), days)
