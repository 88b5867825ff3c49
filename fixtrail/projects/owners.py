"""A project's ownership settings: owners checked against the organization,
saving, and the rules digest applies (fixtrail.projects.ownership parses and
matches; this module knows the members and teams)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from fixtrail.accounts.models import Organization, Team, User
from fixtrail.projects.models import Project, ProjectOwnership
from fixtrail.projects.ownership import (
    Owner,
    OwnershipRule,
    OwnershipSyntaxError,
    parse_codeowners,
    parse_ownership_rules,
)

logger = logging.getLogger(__name__)


class OwnershipError(ValueError):
    """Ownership settings that cannot be saved; ``field`` is "raw" or
    "codeowners", ``message`` says the line and the reason."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class SavedOwnership:
    """The stored settings, and the CODEOWNERS owners no one here matches."""

    ownership: ProjectOwnership
    warnings: list[str] = field(default_factory=list)


def resolve_owners(
    organization: Organization, owners: Iterable[Owner]
) -> dict[Owner, User | Team]:
    """Return the member or team each owner names; unknown ones are left out.

    Two queries whatever the number of owners. A ``@handle`` names the
    member whose e-mail is ``handle@…``, when exactly one member's is.
    """
    owners = set(owners)
    found: dict[Owner, User | Team] = {}
    slugs = {o.identifier for o in owners if o.kind == "team"}
    if slugs:
        teams = {
            t.slug.lower(): t
            for t in Team.objects.filter(organization=organization, slug__in=slugs)
        }
        for owner in owners:
            if owner.kind == "team" and owner.identifier in teams:
                found[owner] = teams[owner.identifier]
    people = [o for o in owners if o.kind in ("user", "handle")]
    if people:
        by_email: dict[str, User] = {}
        by_handle: dict[str, list[User]] = {}
        for user in User.objects.filter(memberships__organization=organization):
            email = user.email.lower()
            by_email[email] = user
            by_handle.setdefault(email.split("@", 1)[0], []).append(user)
        for owner in people:
            if owner.kind == "user" and owner.identifier in by_email:
                found[owner] = by_email[owner.identifier]
            elif (
                owner.kind == "handle" and len(by_handle.get(owner.identifier, [])) == 1
            ):
                found[owner] = by_handle[owner.identifier][0]
    return found


def _unknown(owner: Owner, organization: Organization) -> str:
    if owner.kind == "team":
        return f"unknown owner {owner}: no team of that name in {organization.slug}"
    return f"unknown owner {owner}: not a member of {organization.slug}"


def check_ownership(
    organization: Organization, raw: str, codeowners: str
) -> tuple[tuple[OwnershipRule, ...], list[str]]:
    """Parse both texts and check their owners; return the rules (the file's
    first) and warnings for CODEOWNERS owners that name no one here.

    Raises OwnershipError for a syntax error in either text and for an
    owner of the project's own rules that is not a member or team: those
    are typed here and must be right, while a CODEOWNERS file is written
    for the code host, whose handles need not all exist in Fixtrail.
    """
    try:
        rules = parse_ownership_rules(raw)
    except OwnershipSyntaxError as exc:
        raise OwnershipError("raw", str(exc)) from None
    try:
        file_rules = parse_codeowners(codeowners)
    except OwnershipSyntaxError as exc:
        raise OwnershipError("codeowners", f"CODEOWNERS {exc}") from None
    known = resolve_owners(
        organization, (o for r in (*rules, *file_rules) for o in r.owners)
    )
    for rule in rules:
        for owner in rule.owners:
            if owner not in known:
                raise OwnershipError(
                    "raw", f"line {rule.line}: {_unknown(owner, organization)}"
                )
    warnings = sorted(
        {
            f"CODEOWNERS line {rule.line}: {_unknown(owner, organization)}"
            for rule in file_rules
            for owner in rule.owners
            if owner not in known
        }
    )
    return (*file_rules, *rules), warnings


def save_ownership(
    project: Project,
    *,
    now: dt.datetime,
    raw: str | None = None,
    codeowners: str | None = None,
    codeowners_source: str | None = None,
    fallthrough: bool | None = None,
    auto_assignment: str | None = None,
) -> SavedOwnership:
    """Check and store the given settings (None keeps the stored value).

    This is what the settings page, both APIs, ``fixtrail ownership`` and a
    repository import call. Raises OwnershipError (nothing is stored) for a
    bad rule, and ValueError for an unknown ``auto_assignment``.
    """
    if auto_assignment is not None and auto_assignment not in (
        ProjectOwnership.AutoAssignment.values
    ):
        raise ValueError(f"unknown auto_assignment {auto_assignment!r}")
    with transaction.atomic():
        ownership, _ = ProjectOwnership.objects.select_for_update().get_or_create(
            project=project, defaults={"date_created": now, "last_updated": now}
        )
        new_raw = ownership.raw if raw is None else raw
        new_codeowners = ownership.codeowners if codeowners is None else codeowners
        _, warnings = check_ownership(project.organization, new_raw, new_codeowners)
        ownership.raw = new_raw
        ownership.codeowners = new_codeowners
        if codeowners_source is not None:
            ownership.codeowners_source = codeowners_source[:200]
        if fallthrough is not None:
            ownership.fallthrough = fallthrough
        if auto_assignment is not None:
            ownership.auto_assignment = auto_assignment
        ownership.last_updated = now
        ownership.save()
    return SavedOwnership(ownership, warnings)


def ownership_of(project: Project) -> ProjectOwnership:
    """Return the project's stored settings, or unsaved defaults."""
    try:
        return project.ownership
    except ProjectOwnership.DoesNotExist:
        return ProjectOwnership(project=project)


def effective_rules(ownership: ProjectOwnership) -> tuple[OwnershipRule, ...]:
    """Return the rules digest applies: the CODEOWNERS file's, then the
    project's. A text that no longer parses (stored before a rule changed)
    is skipped with a warning in the log rather than stopping digest."""
    rules: list[OwnershipRule] = []
    try:
        rules += parse_codeowners(ownership.codeowners)
    except OwnershipSyntaxError as exc:
        logger.warning("project %s: ignoring CODEOWNERS: %s", ownership.pk, exc)
    try:
        rules += parse_ownership_rules(ownership.raw)
    except OwnershipSyntaxError as exc:
        logger.warning("project %s: ignoring ownership rules: %s", ownership.pk, exc)
    return tuple(rules)
