"""A project's "also forward to" DSN in Fixtrail's own API (see
fixtrail.adoption.forwarding).

``GET`` shows where forwarding stands (``null`` when off), ``PUT`` with
``{"dsn": "..."}`` turns it on or changes the target, ``DELETE`` stops it.
The DSN itself is never returned: ``to`` is its host, path and project id.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema

from fixtrail.accounts.models import Role
from fixtrail.adoption import forwarding
from fixtrail.api.access import project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.lib.dsn import DSNError

router = Router(tags=["forwarding"])

PATH = "/projects/{org_slug}/{project_slug}/forwarding"


class ForwardingOut(Schema):
    to: str = Field(description="Where envelopes go, without the DSN's key.")
    active: bool
    forwarded: int = Field(description="Envelopes the other server accepted.")
    failed: int = Field(description="Envelopes it refused for good (4xx).")
    skipped: int = Field(description="Envelopes over FIXTRAIL_FORWARD_MAX_BYTES.")
    waiting: int = Field(description="Envelopes not sent yet (retries included).")
    last_error: str
    last_error_at: dt.datetime | None
    last_forwarded_at: dt.datetime | None


class ForwardingIn(Schema):
    dsn: str = Field(max_length=1000, description="The other server's DSN.")


@router.get(PATH, response=ForwardingOut | None, auth=scoped("project:read"))
def get_forwarding(
    request: HttpRequest, org_slug: str, project_slug: str
) -> dict | None:
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    return forwarding.status(project)


@router.put(PATH, response=ForwardingOut, auth=scoped("project:write"))
def put_forwarding(
    request: HttpRequest, org_slug: str, project_slug: str, body: ForwardingIn
) -> dict | None:
    """Forward from now on (admins); a DSN that does not parse is a 400."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    try:
        forwarding.set_forwarding(project, body.dsn)
    except DSNError as exc:
        raise BadRequest(str(exc)) from None
    return forwarding.status(project)


@router.delete(PATH, response={204: None}, auth=scoped("project:write"))
def delete_forwarding(
    request: HttpRequest, org_slug: str, project_slug: str
) -> tuple[int, None]:
    project, _ = project_for(request.user, org_slug, project_slug, Role.ADMIN)
    forwarding.stop_forwarding(project)
    return 204, None
