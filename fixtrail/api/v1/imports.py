"""Imports from Sentry in Fixtrail's own API (admins of the organization).

``POST /api/v1/organizations/{org}/imports/sentry`` starts the same job as
the organization's page and answers 202 with its id; ``GET
/api/v1/organizations/{org}/imports/{id}`` shows its state and counts. The
token is sealed in the job and never answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from fixtrail.accounts.models import Role
from fixtrail.adoption.jobs import job_owner, start_import
from fixtrail.api.access import check_slug, membership_for, parse_id
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.jobs.models import Job

router = Router(tags=["imports"])

IMPORTS = "/organizations/{org_slug}/imports"


class SentryImportIn(Schema):
    url: str
    token: str
    org: str
    issues: bool = False


class ImportOut(Schema):
    id: int
    url: str
    org: str
    state: str
    attempts: int
    last_error: str
    result: dict[str, Any] | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


def import_out(job: Job) -> dict:
    """Return an import job without its payload's token."""
    return {
        "id": job.pk,
        "url": job.payload.get("url", ""),
        "org": job.payload.get("org", ""),
        "state": job.state,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "result": job.result,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@router.post(IMPORTS + "/sentry", response={202: ImportOut}, auth=scoped("org:admin"))
def create_import(request: HttpRequest, org_slug: str, body: SentryImportIn) -> Status:
    """Start importing an organization from Sentry's web API (admins)."""
    org = membership_for(request.user, org_slug, Role.ADMIN).organization
    try:
        URLValidator(schemes=["http", "https"])(body.url)
    except ValidationError:
        raise BadRequest("url must be an http(s) URL.") from None
    if not body.token.strip():
        raise BadRequest("token must not be empty.")
    job = start_import(
        org, request.user, url=body.url, token=body.token.strip(),
        source_org=check_slug(body.org), issues=body.issues,
    )  # fmt: skip
    job.refresh_from_db()
    return Status(202, import_out(job))


@router.get(IMPORTS + "/{import_id}", response=ImportOut, auth=scoped("org:read"))
def get_import(request: HttpRequest, org_slug: str, import_id: str) -> dict:
    """Show an import's state, its counts once done, or its last error."""
    org = membership_for(request.user, org_slug, Role.ADMIN).organization
    job = get_object_or_404(Job, owner=job_owner(org), pk=parse_id(import_id))
    return import_out(job)
