from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """Give every page the organizations the user belongs to, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_organizations": []}
    from fixtrail.accounts.models import Organization

    return {"nav_organizations": Organization.objects.for_user(user)}
