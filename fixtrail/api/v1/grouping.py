"""Moving a project to a newer grouping version in Fixtrail's own API::

    GET  /api/v1/projects/{org}/{project}/grouping/upgrade?version=2
         -> {"from_version": 1, "to_version": 2, "events": 1000, "issues": 40,
             "issues_after": 37, "merges": 3, "splits": 0}
    POST /api/v1/projects/{org}/{project}/grouping/upgrade
         {"version": 2, "merge": true}   (admins) -> the same counts

(fixtrail.issues.regrouping says what each step does.)
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from fixtrail.accounts.models import Role
from fixtrail.api.access import project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.issues.regrouping import RegroupError, apply_upgrade, preview_upgrade

router = Router(tags=["grouping"])

PATH = "/projects/{org_slug}/{project_slug}/grouping/upgrade"


class RegroupOut(Schema):
    from_version: int
    to_version: int
    events: int = Field(description="Events of the sample (the project's last).")
    issues: int = Field(description="Issues those events belong to now.")
    issues_after: int = Field(description="Issues they would make after.")
    merges: int = Field(description="Issues that would merge into another.")
    splits: int = Field(description="Issues whose events would go apart.")


class RegroupIn(Schema):
    version: int
    merge: bool = True


@router.get(PATH, response=RegroupOut, auth=scoped("project:read"))
def preview(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> dict:
    """Count what moving to ``version`` would merge and split."""
    project, _ = project_for(request.user, org_slug, project_slug)
    try:
        return preview_upgrade(project, version).to_dict()
    except RegroupError as exc:
        raise BadRequest(exc.message) from None


@router.post(PATH, response=RegroupOut, auth=scoped("project:write"))
def upgrade(
    request: HttpRequest, org_slug: str, project_slug: str, body: RegroupIn
) -> dict:
    """Move the project to ``version`` (admins)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    try:
        done = apply_upgrade(
            project,
            body.version,
            user=request.user,
            now=timezone.now(),
            merge=body.merge,
        )
    except RegroupError as exc:
        raise BadRequest(exc.message) from None
    return done.to_dict()
