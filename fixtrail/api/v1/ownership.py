"""A project's ownership rules and CODEOWNERS file in Fixtrail's own API.

``PUT /api/v1/projects/{org}/{project}/ownership`` is also how a repository
import hands over a CODEOWNERS file (``codeowners`` and
``codeowners_source``); both texts are checked like on the settings page.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from fixtrail.accounts.models import Role
from fixtrail.api.access import project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.projects.models import ProjectOwnership
from fixtrail.projects.owners import OwnershipError, ownership_of, save_ownership

router = Router(tags=["ownership"])

PATH = "/projects/{org_slug}/{project_slug}/ownership"
MAX_TEXT_CHARS = 1024 * 1024


class OwnershipOut(Schema):
    raw: str = Field(description="Ownership rules in Sentry's syntax.")
    codeowners: str = Field(description="The CODEOWNERS file (GitHub or GitLab).")
    codeowners_source: str
    fallthrough: bool
    auto_assignment: str = Field(description='"issue_owner" or "off".')
    warnings: list[str] = Field(
        [], description="CODEOWNERS owners that name no member or team here."
    )


class OwnershipIn(Schema):
    raw: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    codeowners: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    codeowners_source: str | None = Field(None, max_length=200)
    fallthrough: bool | None = None
    auto_assignment: str | None = Field(None, description='"issue_owner" or "off".')


def _out(ownership: ProjectOwnership, warnings: list[str] | None = None) -> dict:
    return {
        "raw": ownership.raw,
        "codeowners": ownership.codeowners,
        "codeowners_source": ownership.codeowners_source,
        "fallthrough": ownership.fallthrough,
        "auto_assignment": ownership.auto_assignment,
        "warnings": warnings or [],
    }


@router.get(PATH, response=OwnershipOut, auth=scoped("project:read"))
def get_ownership(request: HttpRequest, org_slug: str, project_slug: str) -> dict:
    project, _ = project_for(request.user, org_slug, project_slug)
    return _out(ownership_of(project))


@router.put(PATH, response=OwnershipOut, auth=scoped("project:write"))
def put_ownership(
    request: HttpRequest, org_slug: str, project_slug: str, body: OwnershipIn
) -> dict:
    """Change the fields given (admins); a bad rule is a 400 naming its line."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    if body.auto_assignment is not None and (
        body.auto_assignment not in ProjectOwnership.AutoAssignment.values
    ):
        raise BadRequest('auto_assignment must be "issue_owner" or "off".')
    try:
        saved = save_ownership(
            project,
            now=timezone.now(),
            raw=body.raw,
            codeowners=body.codeowners,
            codeowners_source=body.codeowners_source,
            fallthrough=body.fallthrough,
            auto_assignment=body.auto_assignment,
        )
    except OwnershipError as exc:
        raise BadRequest(exc.message) from None
    return _out(saved.ownership, saved.warnings)
