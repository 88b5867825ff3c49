"""Teams: creating them, joining and leaving, and giving them projects.

A team groups members of one organization; projects belong to any number
of teams (``Project.teams``). Views, the web API and tests all go through
these functions.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from fixtrail.accounts.models import Organization, Team, User

# Sentry's rule for team slugs: lowercase letters, digits, - and _, with at
# least one letter or _ so a slug is never mistaken for an id.
_SLUG = re.compile(r"^(?![0-9]+$)[a-z0-9_\-]{1,50}$")


class TeamError(Exception):
    """A team change that cannot be made; the message says why."""


class TeamExists(TeamError):
    """The organization already has a team with that slug."""


def create_team(org: Organization, name: str, slug: str = "") -> Team:
    """Create a team in ``org`` named ``name``; the slug comes from the name
    unless given.

    Raises TeamError for a slug that is not valid and TeamExists when the
    organization already has a team with that slug.
    """
    name = name.strip()
    slug = slug.strip() or slugify(name)[:50]
    if not name:
        name = slug
    if not _SLUG.match(slug):
        raise TeamError(
            "Enter a slug of lowercase letters, digits, hyphens and underscores "
            "(not digits only), at most 50 characters."
        )
    try:
        with transaction.atomic():
            return Team.objects.create(organization=org, slug=slug, name=name[:100])
    except IntegrityError:
        raise TeamExists(f"A team with the slug “{slug}” already exists.") from None


def join_team(team: Team, user: User) -> None:
    """Make ``user`` a member of ``team`` (idempotent)."""
    team.members.add(user)


def leave_team(team: Team, user: User) -> None:
    """Take ``user`` out of ``team`` (idempotent)."""
    team.members.remove(user)


def give_project(team: Team, project: object) -> None:
    """Add ``project`` to the team's projects (idempotent).

    Raises TeamError when the project belongs to another organization.
    """
    if project.organization_id != team.organization_id:
        raise TeamError("The project belongs to another organization.")
    team.projects.add(project)


def take_project(team: Team, project: object) -> None:
    """Remove ``project`` from the team's projects (idempotent)."""
    team.projects.remove(project)
