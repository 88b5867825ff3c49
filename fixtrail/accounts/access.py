"""The one way views load an organization: outsiders get 404, members
without the needed role get 403."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from fixtrail.accounts.models import Membership, Organization, Role, User


def get_membership(user: User, org_slug: str, minimum: str = Role.VIEWER) -> Membership:
    """Return the user's membership of the organization ``org_slug``.

    Raises Http404 when the organization does not exist or the user is not
    a member (the two look the same), and PermissionDenied when the user's
    role is below ``minimum``.
    """
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=org_slug)
        .first()
    )
    if membership is None:
        raise Http404("No such organization")
    if not membership.has_role(minimum):
        raise PermissionDenied(f"This needs the {minimum} role or higher.")
    return membership


def get_organization(
    user: User, org_slug: str, minimum: str = Role.VIEWER
) -> Organization:
    """Return the organization, checked as in ``get_membership``."""
    return get_membership(user, org_slug, minimum).organization
