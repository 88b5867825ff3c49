"""How API endpoints load what a request names: organization, project,
issue, event. Each helper returns the object with the caller's membership,
or raises: Http404 for anything that does not exist or belongs to an
organization the caller is not in (the two look the same), PermissionDenied
when the caller's role is below the one the action needs.

Path values are checked before they reach the database, so junk in a URL
is a 404, never a database error.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404

from fixtrail.accounts.access import get_membership
from fixtrail.accounts.models import Membership, Role, User
from fixtrail.api.selection import issue_base
from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.projects.access import get_project
from fixtrail.projects.models import Project

_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")
# Database ids are 64-bit; 18 digits always fit.
_ID = re.compile(r"[0-9]{1,18}")
_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_SHORT_ID = re.compile(r"([-A-Za-z0-9_]{1,50})-([0-9A-Za-z]{1,12})")


def check_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise Http404("No such object")
    return slug


def parse_id(text: str) -> int:
    """Return a numeric path id; Http404 for anything else."""
    if not _ID.fullmatch(text):
        raise Http404("No such object")
    return int(text)


def parse_event_id(text: str) -> str:
    """Return an event id as stored (32 lowercase hex); accepts UUID form."""
    event_id = text.replace("-", "").lower()
    if not _EVENT_ID.fullmatch(event_id):
        raise Http404("No such event")
    return event_id


def membership_for(user: User, org_slug: str, minimum: str = Role.VIEWER) -> Membership:
    """Return the user's membership of ``org_slug`` (see module docstring)."""
    return get_membership(user, check_slug(org_slug), minimum)


def project_for(
    user: User, org_slug: str, project_slug: str, minimum: str = Role.VIEWER
) -> tuple[Project, Membership]:
    """Return a project of the user's organization and the membership."""
    return get_project(user, check_slug(org_slug), check_slug(project_slug), minimum)


def issue_for(
    user: User, issue_ref: str, minimum: str = Role.VIEWER, org_slug: str | None = None
) -> tuple[Issue, Membership]:
    """Return an issue by id (or, with ``org_slug``, by short id such as
    ``BACKEND-1A``) and the user's membership of its organization."""
    issue = None
    if _ID.fullmatch(issue_ref):
        issue = issue_base(pk=int(issue_ref)).first()
    elif org_slug is not None and (match := _SHORT_ID.fullmatch(issue_ref)):
        prefix, number = match.groups()
        issue = issue_base(
            project__organization__slug=org_slug,
            project__slug__iexact=prefix,
            short_id=int(number, 36),
        ).first()
    if issue is None:
        raise Http404("No such issue")
    org = issue.project.organization
    if org_slug is not None and org.slug != org_slug:
        raise Http404("No such issue")
    membership = Membership.objects.filter(user=user, organization=org).first()
    if membership is None:
        raise Http404("No such issue")
    if not membership.has_role(minimum):
        raise PermissionDenied(f"This needs the {minimum} role or higher.")
    membership.organization = org
    return issue, membership


def event_for(project: Project, event_ref: str) -> Event:
    """Return a stored event of ``project`` by its event id."""
    event = Event.objects.filter(
        project=project, event_id=parse_event_id(event_ref)
    ).first()
    if event is None:
        raise Http404("No such event")
    return event
