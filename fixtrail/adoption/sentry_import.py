"""Import an organization from Sentry (or GlitchTip, or another Fixtrail).

Two steps, so the database transaction never waits on the network:

1. :func:`read_organization` reads everything through the source's web API
   into a :class:`SourceOrganization` (plain data);
2. :func:`apply_organization` creates or updates, in one transaction, the
   organization (same slug), its teams, projects (same slugs, and the same
   ids where free), DSN keys (same public and secret keys), members (as
   invitations: accounts without a password) and ownership rules.

Both are idempotent: matching is by slug, public key and e-mail, so a second
import finds everything and changes nothing. A dry run does the same work
and rolls the transaction back. Whatever cannot be imported is named in
``skipped`` rather than stopping the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fixtrail.accounts.invitations import send_invitation
from fixtrail.accounts.models import (
    Membership,
    MembershipError,
    Organization,
    Role,
    Team,
    User,
    set_member_role,
)
from fixtrail.adoption.models import ImportedIssue, ImportedKey
from fixtrail.adoption.sentry_api import SentryAPI
from fixtrail.issues.models import Issue, IssueHash, Level, Status, Substatus
from fixtrail.projects.models import PLATFORMS, Project, ProjectKey, ProjectOwnership
from fixtrail.projects.owners import OwnershipError, save_ownership

# Sentry's organization roles, by the Fixtrail role that grants the same:
# a manager manages projects and teams (our admin); billing only reads.
SENTRY_ROLES = {
    "owner": Role.OWNER,
    "manager": Role.ADMIN,
    "admin": Role.ADMIN,
    "member": Role.MEMBER,
    "billing": Role.VIEWER,
}
# Sentry's autoAssignment labels, by ProjectOwnership.AutoAssignment value.
AUTO_ASSIGNMENT = {
    label: value for value, label in ProjectOwnership.AutoAssignment.choices
} | {"Auto Assign to Issue Owner": "issue_owner"}
_PLATFORMS = {value for value, _ in PLATFORMS}


@dataclass
class SourceProject:
    """One project as the source described it."""

    id: int | None
    slug: str
    name: str
    platform: str
    detail: dict
    keys: list[dict]
    ownership: dict | None
    # Unresolved and ignored issues, each with the source's "hashes" added.
    issues: list[dict] = field(default_factory=list)


@dataclass
class SourceOrganization:
    """Everything read from the source, before anything is written."""

    slug: str
    name: str
    projects: list[SourceProject]
    teams: list[dict]
    members: list[dict]
    skipped: list[str] = field(default_factory=list)


def read_organization(
    api: SentryAPI, org_slug: str, *, issues: bool = False
) -> SourceOrganization:
    """Read ``org_slug`` from the source (with ``issues``, also its
    unresolved and ignored issues); raise SourceError when the organization
    or its project list cannot be read.

    Lists the source does not serve (Fixtrail serves no teams or members
    lists) are left empty and named in ``skipped``.
    """
    org = api.get(f"organizations/{org_slug}/")
    source = SourceOrganization(
        slug=org.get("slug") or org_slug,
        name=org.get("name") or org_slug,
        projects=[],
        teams=[],
        members=[],
    )
    for row in api.pages(f"organizations/{org_slug}/projects/"):
        slug = row["slug"]
        path = f"projects/{org_slug}/{slug}"
        source.projects.append(
            SourceProject(
                id=_int(row.get("id")),
                slug=slug,
                name=row.get("name") or slug,
                platform=row.get("platform") or "other",
                detail=api.get_or_none(f"{path}/") or {},
                keys=list(api.pages(f"{path}/keys/")),
                ownership=api.get_or_none(f"{path}/ownership/"),
                issues=_read_issues(api, path) if issues else [],
            )
        )
    for name in ("teams", "members"):
        rows = _optional_list(api, f"organizations/{org_slug}/{name}/")
        if rows is None:
            source.skipped.append(f"{name}: the source does not list them")
        else:
            setattr(source, name, rows)
    return source


def _read_issues(api: SentryAPI, project_path: str) -> list[dict]:
    rows: dict[str, dict] = {}
    for status in ("unresolved", "ignored"):
        # An empty statsPeriod asks for no sparkline stats, only the list.
        query = f"{project_path}/issues/?query=is:{status}&statsPeriod="
        for row in api.pages(query):
            rows.setdefault(str(row["id"]), row)
    for source_id, row in rows.items():
        # Sentry lists the grouping hashes of an issue; Fixtrail and some
        # others do not serve this, and then matching goes by title.
        hashes = api.get_or_none(f"issues/{source_id}/hashes/") or []
        row["hashes"] = [h["id"] for h in hashes if isinstance(h, dict) and h.get("id")]
    return list(rows.values())


@dataclass
class Summary:
    """The counts printed at the end of an import."""

    org: str
    teams: int = 0
    projects: int = 0
    keys: int = 0
    members: int = 0
    rules: int = 0
    issues: int = 0
    skipped: list[str] = field(default_factory=list)
    # With --issues: imported issues that new events will join by the
    # source's hash, and by title and culprit (no usable hash).
    matched_by_hash: int | None = None
    matched_by_title: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the summary in the order of the issue's JSON line."""
        return {
            "org": self.org,
            "teams": self.teams,
            "projects": self.projects,
            "keys": self.keys,
            "members": self.members,
            "rules": self.rules,
            "issues": self.issues,
            "skipped": self.skipped,
        } | (
            {}
            if self.matched_by_hash is None
            else {
                "matched_by_hash": self.matched_by_hash,
                "matched_by_title": self.matched_by_title,
            }
        )


def apply_organization(
    source: SourceOrganization,
    *,
    issues: bool = False,
    dry_run: bool = False,
    into: Organization | None = None,
    invited_by: User | None = None,
    now: dt.datetime | None = None,
) -> Summary:
    """Create or update what ``source`` describes; return the counts.

    Runs in one transaction; ``dry_run`` rolls it back, so the counts are
    those a real run would print and nothing is written. New members get
    an invitation e-mail once the transaction commits, from ``invited_by``
    (default: the organization's first owner). ``into`` imports into an
    existing organization instead of the one with the source's slug.
    """
    now = now or timezone.now()
    summary = Summary(org=into.slug if into else source.slug)
    summary.skipped = list(source.skipped)
    with transaction.atomic():
        if into is not None:
            org, created = into, True
        else:
            org, created = Organization.objects.get_or_create(
                slug=source.slug, defaults={"name": source.name}
            )
        if not created and org.name != source.name:
            org.name = source.name
            org.save(update_fields=["name"])
        projects = {}
        for item in source.projects:
            project = _import_project(org, item)
            projects[item.slug] = project
            summary.projects += 1
            summary.keys += _import_keys(project, item, summary.skipped)
        teams = _import_teams(org, source.teams, projects, summary)
        invitations = _import_members(org, source.members, teams, summary)
        for item in source.projects:
            summary.rules += _import_ownership(
                projects[item.slug], item.ownership, now, summary.skipped
            )
        if issues:
            summary.matched_by_hash = summary.matched_by_title = 0
            for item in source.projects:
                for row in item.issues:
                    _import_issue(projects[item.slug], row, org, summary)
        if dry_run:
            transaction.set_rollback(True)
        elif invitations:
            sender = invited_by or _first_owner(org)
            if sender is not None:
                transaction.on_commit(
                    lambda: [send_invitation(u, org, sender) for u in invitations]
                )
    return summary


def _import_project(org: Organization, item: SourceProject) -> Project:
    project = Project.objects.filter(organization=org, slug=item.slug).first()
    fields = {
        "name": item.name[:100],
        "platform": _platform(item.platform),
        **_settings(item.detail),
    }
    if project is None:
        project = Project(organization=org, slug=item.slug, **fields)
        free = item.id is not None and not Project.objects.filter(pk=item.id).exists()
        if free:
            project.pk = item.id
        project.save()
        if free:
            _reset_sequence(Project)
        return project
    changed = [n for n, value in fields.items() if getattr(project, n) != value]
    for name in changed:
        setattr(project, name, fields[name])
    if changed:
        project.save(update_fields=changed)
    return project


def _settings(detail: dict) -> dict[str, Any]:
    """Return the project settings Fixtrail shares with Sentry's project
    details (fields a source leaves out keep their current value)."""
    out: dict[str, Any] = {}
    domains = detail.get("allowedDomains")
    if isinstance(domains, list):
        # Sentry's default ["*"] means any origin, as our empty list does.
        out["allowed_origins"] = "\n".join(d for d in domains if d != "*")
    for theirs, ours in (
        ("dataScrubber", "scrub_data"),
        ("scrubIPAddresses", "scrub_ip_addresses"),
    ):
        if isinstance(detail.get(theirs), bool):
            out[ours] = detail[theirs]
    if isinstance(detail.get("sensitiveFields"), list):
        out["scrub_fields"] = "\n".join(map(str, detail["sensitiveFields"]))
    if isinstance(detail.get("fingerprintingRules"), str):
        out["fingerprint_rules"] = detail["fingerprintingRules"]
    return out


def _import_keys(project: Project, item: SourceProject, skipped: list[str]) -> int:
    count = 0
    for row in item.keys:
        public = str(row.get("public") or "")
        if not public or len(public) > 32:
            skipped.append(f"key of {item.slug}: no usable public key")
            continue
        key = ProjectKey.objects.filter(public_key=public).first()
        if key is not None and key.project_id != project.pk:
            skipped.append(f"key {public} of {item.slug}: used by another project")
            continue
        fields = {
            "label": str(row.get("label") or row.get("name") or "Default")[:64],
            "is_active": row.get("isActive", True) is not False,
            "rate_limit_per_minute": _per_minute(row.get("rateLimit")),
        }
        if key is None:
            key = ProjectKey.objects.create(
                project=project,
                public_key=public,
                secret_key=str(row.get("secret") or public)[:32],
                **fields,
            )
        else:
            changed = [n for n, v in fields.items() if getattr(key, n) != v]
            for name in changed:
                setattr(key, name, fields[name])
            if changed:
                key.save(update_fields=changed)
        source_id = _int(row.get("projectId")) or item.id
        if source_id is not None and source_id != project.pk:
            ImportedKey.objects.update_or_create(
                key=key, defaults={"source_project_id": source_id}
            )
        count += 1
    return count


def _import_teams(
    org: Organization,
    rows: list[dict],
    projects: dict[str, Project],
    summary: Summary,
) -> dict[str, Team]:
    teams = {}
    for row in rows:
        slug = row.get("slug")
        if not slug:
            summary.skipped.append("a team without a slug")
            continue
        team, created = Team.objects.get_or_create(
            organization=org, slug=slug[:50], defaults={"name": row.get("name") or slug}
        )
        for ref in row.get("projects") or []:
            project = projects.get(ref.get("slug"))
            if project is not None:
                team.projects.add(project)
        teams[slug] = team
        summary.teams += 1
    return teams


def _import_members(
    org: Organization, rows: list[dict], teams: dict[str, Team], summary: Summary
) -> list[User]:
    """Add members; return the new accounts that need an invitation."""
    invitations = []
    for row in rows:
        email = (row.get("email") or "").strip().lower()
        role = SENTRY_ROLES.get(row.get("orgRole") or row.get("role") or "member")
        if not email or role is None:
            summary.skipped.append(f"member {email or '(no e-mail)'}: unknown role")
            continue
        existing = Membership.objects.filter(organization=org, user__email=email)
        if existing.exists():
            # Roles already given here win: an import never demotes or
            # promotes someone who was set up by hand.
            membership = existing.select_related("user").get()
        else:
            try:
                membership = set_member_role(org, email, role)
            except MembershipError as exc:
                summary.skipped.append(f"member {email}: {exc}")
                continue
            if not membership.user.has_usable_password():
                invitations.append(membership.user)
        for slug in _team_slugs(row):
            if slug in teams:
                teams[slug].members.add(membership.user)
        summary.members += 1
    return invitations


def _team_slugs(row: dict) -> list[str]:
    # Newer Sentry lists teamRoles, older ones (and GlitchTip) teams.
    slugs = [r.get("teamSlug") for r in row.get("teamRoles") or []]
    for team in row.get("teams") or []:
        slugs.append(team if isinstance(team, str) else team.get("slug"))
    return [s for s in slugs if s]


def _import_ownership(
    project: Project, data: dict | None, now: dt.datetime, skipped: list[str]
) -> int:
    """Store the project's rules verbatim; return how many rules there are."""
    if not data or not data.get("raw"):
        return 0
    raw = data["raw"]
    auto = AUTO_ASSIGNMENT.get(data.get("autoAssignment") or "")
    fallthrough = data.get("fallthrough")
    fallthrough = fallthrough if isinstance(fallthrough, bool) else None
    current = ProjectOwnership.objects.filter(project=project).first()
    unchanged = current is not None and (
        current.raw == raw
        and fallthrough in (None, current.fallthrough)
        and auto in (None, current.auto_assignment)
    )
    if not unchanged:
        try:
            save_ownership(
                project, now=now, raw=raw, fallthrough=fallthrough, auto_assignment=auto
            )
        except OwnershipError as exc:
            skipped.append(f"ownership rules of {project.slug}: {exc}")
            return 0
    return sum(
        1
        for line in raw.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


def _import_issue(
    project: Project, row: dict, org: Organization, summary: Summary
) -> None:
    """Create or update one issue, keeping its short id where it is free."""
    source_id = str(row["id"])
    fields = _issue_fields(row, org)
    imported = (
        ImportedIssue.objects.filter(project=project, source_id=source_id)
        .select_related("issue")
        .first()
    )
    if imported is None:
        short_id = _short_number(row.get("shortId"))
        if short_id is None or project.issues.filter(short_id=short_id).exists():
            short_id = None
        issue = Issue(project=project, short_id=short_id or 0, **fields)
        if short_id is None:
            # Same counter digest uses, so no two issues get one number.
            Project.objects.filter(pk=project.pk).update(
                next_short_id=F("next_short_id") + 1
            )
            issue.short_id = (
                Project.objects.values_list("next_short_id", flat=True).get(
                    pk=project.pk
                )
                - 1
            )
        issue.save()
        Project.objects.filter(pk=project.pk, next_short_id__lte=issue.short_id).update(
            next_short_id=issue.short_id + 1
        )
        imported = ImportedIssue.objects.create(
            issue=issue, project=project, source_id=source_id
        )
    else:
        issue = imported.issue
        changed = [n for n, v in fields.items() if getattr(issue, n) != v]
        for name in changed:
            setattr(issue, name, fields[name])
        if changed:
            issue.save(update_fields=changed)
    hashes = [h for h in row.get("hashes", []) if len(h) <= 32]
    for group_hash in hashes:
        IssueHash.objects.get_or_create(
            project=project,
            hash=group_hash,
            defaults={"issue": issue, "grouping_version": project.grouping_version},
        )
    if hashes:
        summary.matched_by_hash += 1
    else:
        summary.matched_by_title += 1
    summary.issues += 1


def _issue_fields(row: dict, org: Organization) -> dict[str, Any]:
    metadata = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    first_seen = parse_datetime(row.get("firstSeen") or "") or timezone.now()
    status = Status.IGNORED if row.get("status") == "ignored" else Status.UNRESOLVED
    assignee = team = None
    actor = row.get("assignedTo") or {}
    if actor.get("type") == "user" and actor.get("email"):
        assignee = User.objects.filter(
            email=actor["email"].lower(), memberships__organization=org
        ).first()
    elif actor.get("type") == "team":
        team = Team.objects.filter(organization=org, slug=actor.get("name")).first()
    level = row.get("level") if row.get("level") in Level.values else Level.ERROR
    return {
        "title": str(row.get("title") or "")[:500],
        "culprit": str(row.get("culprit") or "")[:500],
        "type": str(metadata.get("type") or "")[:200],
        "value": str(metadata.get("value") or ""),
        "metadata": metadata,
        "level": level,
        "platform": str(row.get("platform") or "other")[:32],
        "first_seen": first_seen,
        "last_seen": parse_datetime(row.get("lastSeen") or "") or first_seen,
        "times_seen": _int(row.get("count")) or 0,
        "user_count": _int(row.get("userCount")) or 0,
        "status": status,
        "substatus": Substatus.ONGOING if status == Status.UNRESOLVED else "",
        "assignee": assignee,
        "assignee_team": team,
    }


def _short_number(short_id: Any) -> int | None:
    # "SHOP-1A": the part after the last dash is the number in base 36.
    if not isinstance(short_id, str) or "-" not in short_id:
        return None
    try:
        return int(short_id.rsplit("-", 1)[1], 36) or None
    except ValueError:
        return None


def _first_owner(org: Organization) -> User | None:
    membership = (
        org.memberships.filter(role=Role.OWNER).select_related("user").order_by("pk")
    ).first()
    return membership.user if membership else None


def _platform(value: str) -> str:
    # Sentry platforms are often "<language>-<framework>" (python-django).
    if value in _PLATFORMS:
        return value
    head = value.split("-", 1)[0]
    return head if head in _PLATFORMS else "other"


def _per_minute(rate_limit: Any) -> int:
    if not isinstance(rate_limit, dict):
        return 0
    count, window = _int(rate_limit.get("count")), _int(rate_limit.get("window"))
    if not count or not window:
        return 0
    return max(1, round(count * 60 / window))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _optional_list(api: SentryAPI, path: str) -> list[dict] | None:
    from fixtrail.adoption.sentry_api import SourceError

    try:
        return list(api.pages(path))
    except SourceError as exc:
        if exc.status in (404, 405):
            return None
        raise


def _reset_sequence(model: type[Project]) -> None:
    # PostgreSQL's id sequence does not move for an explicit id; without
    # this the next project created by hand would collide with it.
    for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
        with connection.cursor() as cursor:
            cursor.execute(sql)
