"""The one way views load a project (see fixtrail.accounts.access)."""

from __future__ import annotations

from django.http import Http404

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Membership, Role, User
from fixtrail.projects.models import Project


def get_project(
    user: User, org_slug: str, project_slug: str, minimum: str = Role.VIEWER
) -> tuple[Project, Membership]:
    """Return the project and the user's membership of its organization.

    Raises Http404 for unknown projects and outsiders, PermissionDenied for a
    role below ``minimum``.
    """
    membership = get_membership(user, org_slug, minimum)
    project = Project.objects.filter(
        organization=membership.organization, slug=project_slug
    ).first()
    if project is None:
        raise Http404("No such project")
    project.organization = membership.organization
    return project, membership
