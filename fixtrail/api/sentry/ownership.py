"""Ownership rules, as Sentry's ``/projects/{org}/{project}/ownership/``::

    GET  -> {"raw": "path:src/* #payments", "fallthrough": true,
             "dateCreated": "...", "lastUpdated": "...", "isActive": true,
             "autoAssignment": "Auto Assign to Issue Owner",
             "codeownersAutoSync": false,
             "schema": {"$version": 1, "rules": [
                 {"matcher": {"type": "path", "pattern": "src/*"},
                  "owners": [{"type": "team", "identifier": "payments",
                              "id": 3}]}]}}
    PUT  {"raw": "...", "fallthrough": false,
          "autoAssignment": "Auto Assign to Issue Owner"
                            | "Turn off Auto-Assignment"}

A rule that does not parse, or names an owner who is not a member or team,
is answered with 400 ``{"raw": ["line 2: ..."]}`` and nothing is stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from fixtrail.accounts.models import Role, Team, User
from fixtrail.api.access import project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.serializers import iso
from fixtrail.projects.models import ProjectOwnership
from fixtrail.projects.owners import (
    OwnershipError,
    effective_rules,
    ownership_of,
    resolve_owners,
    save_ownership,
)

router = Router(tags=["ownership"])

OWNERSHIP = "/projects/{org_slug}/{project_slug}/ownership/"
# Sentry's older name for "Auto Assign to Issue Owner".
_AUTO_ASSIGN_ALIASES = {"Auto Assign to Issue Owner": "issue_owner"}
_AUTO_ASSIGN_LABELS = dict(ProjectOwnership.AutoAssignment.choices)
MAX_BODY_BYTES = 1024 * 1024


def ownership_payload(ownership: ProjectOwnership) -> dict[str, Any]:
    """Return Sentry's shape of a project's ownership settings."""
    rules = [r for r in effective_rules(ownership) if r.source == "rules"]
    known = resolve_owners(
        ownership.project.organization, (o for r in rules for o in r.owners)
    )
    schema_rules = []
    for rule in rules:
        owners = []
        for owner in rule.owners:
            target = known.get(owner)
            kind = "team" if isinstance(target, Team) else "user"
            identifier = target.slug if isinstance(target, Team) else owner.identifier
            if isinstance(target, User):
                identifier = target.email
            owners.append(
                {
                    "type": kind,
                    "identifier": identifier,
                    "id": target.pk if target is not None else None,
                }
            )
        schema_rules.append(
            {
                "matcher": {"type": rule.matcher, "pattern": rule.pattern},
                "owners": owners,
            }
        )
    return {
        "raw": ownership.raw or None,
        "fallthrough": ownership.fallthrough,
        "dateCreated": iso(ownership.date_created) if ownership.pk else None,
        "lastUpdated": iso(ownership.last_updated) if ownership.pk else None,
        "isActive": True,
        "autoAssignment": _AUTO_ASSIGN_LABELS[ownership.auto_assignment],
        "codeownersAutoSync": False,
        "schema": {"$version": 1, "rules": schema_rules},
    }


def _body(request: HttpRequest) -> dict:
    if len(request.body) > MAX_BODY_BYTES:
        raise BadRequest("The body is too large.")
    try:
        body = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _auto_assignment(value: Any) -> str | None:
    if value is None:
        return None
    by_label = {label: key for key, label in _AUTO_ASSIGN_LABELS.items()}
    if isinstance(value, str) and value in by_label:
        return by_label[value]
    if isinstance(value, str) and value in _AUTO_ASSIGN_LABELS:
        return value
    choices = ", ".join(f'"{label}"' for label in by_label)
    raise BadRequest(f"autoAssignment must be one of {choices}.")


@router.get(OWNERSHIP, auth=scoped("project:read"))
def get_ownership(request: HttpRequest, org_slug: str, project_slug: str) -> dict:
    """Return the project's ownership rules and settings."""
    project, _ = project_for(request.user, org_slug, project_slug)
    return ownership_payload(ownership_of(project))


@router.put(OWNERSHIP, auth=scoped("project:write"))
def put_ownership(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse | dict:
    """Replace the rules (``raw``) and settings; admins only."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    body = _body(request)
    raw = body.get("raw")
    if raw is not None and not isinstance(raw, str):
        raise BadRequest("raw must be a string.")
    fallthrough = body.get("fallthrough")
    if fallthrough is not None and not isinstance(fallthrough, bool):
        raise BadRequest("fallthrough must be true or false.")
    try:
        saved = save_ownership(
            project,
            now=timezone.now(),
            raw=raw,
            fallthrough=fallthrough,
            auto_assignment=_auto_assignment(body.get("autoAssignment")),
        )
    except OwnershipError as exc:
        return HttpResponse(
            orjson.dumps({exc.field: [exc.message]}),
            status=400,
            content_type="application/json",
        )
    return ownership_payload(saved.ownership)
