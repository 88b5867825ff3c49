"""User feedback, as Sentry's ``/projects/{org}/{project}/user-feedback/``::

    GET  -> [{"id": "7", "eventID": "14bad9a2e3774046977a21440ddb39b2",
              "name": "Jane", "email": "jane@example.com",
              "comments": "It broke!", "dateCreated": "...",
              "user": null, "event": {"id": "...", "eventID": "..."},
              "issue": {...Sentry's issue shape...} | null}]
    POST {"event_id": "14bad9a2...", "name": "Jane",
          "email": "jane@example.com", "comments": "It broke!"}
         -> the stored report in the shape above

Newest first, paged with the Link header like Sentry's other lists. A field
that does not check is answered with 400 ``{"comments": ["..."]}`` and
nothing is stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from fixtrail.accounts.models import Role, User
from fixtrail.api.access import project_for
from fixtrail.api.auth import scoped
from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import page_rows
from fixtrail.api.sentry.issues import read_json
from fixtrail.api.serializers import iso, issue_payloads
from fixtrail.events.feedback import (
    Feedback,
    FeedbackError,
    reports_of_project,
    submit_feedback,
    with_issues,
)
from fixtrail.projects.models import Project

router = Router(tags=["feedback"])

USER_FEEDBACK = "/projects/{org_slug}/{project_slug}/user-feedback/"


def feedback_payloads(
    project: Project, rows: list[Feedback], *, user: User
) -> list[dict[str, Any]]:
    """Return Sentry's shape of reports with their issues."""
    issues = {f.issue.pk: f.issue for f in rows if f.issue is not None}
    issue_shapes = {
        shape["id"]: shape
        for shape in issue_payloads(
            list(issues.values()), user=user, now=timezone.now(), stats_period=None
        )
    }
    return [
        {
            "id": str(f.report.pk),
            "eventID": f.report.event_id,
            "name": f.report.name,
            "email": f.report.email,
            "comments": f.report.comments,
            "dateCreated": iso(f.report.created_at),
            "user": None,
            "event": {"id": f.report.event_id, "eventID": f.report.event_id},
            "issue": issue_shapes.get(str(f.issue.pk)) if f.issue else None,
        }
        for f in rows
    ]


@router.get(USER_FEEDBACK, auth=scoped("project:read"))
def list_feedback(
    request: HttpRequest, response: HttpResponse, org_slug: str, project_slug: str
) -> list[dict]:
    """List the project's user feedback, newest first."""
    project, _ = project_for(request.user, org_slug, project_slug)
    reports = list(page_rows(request, response, reports_of_project(project)))
    return feedback_payloads(project, with_issues(project, reports), user=request.user)


@router.post(USER_FEEDBACK, auth=scoped("project:write"))
def post_feedback(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse | dict:
    """Store one report about an event (``event_id``, ``comments``, and
    optionally ``name`` and ``email``)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    body = read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    fields = {}
    for name in ("event_id", "name", "email", "comments"):
        value = body.get(name, "")
        if not isinstance(value, str):
            return _field_error(name, f"{name} must be a string")
        fields[name] = value
    try:
        report = submit_feedback(project, now=timezone.now(), **fields)
    except FeedbackError as exc:
        return _field_error(exc.field, exc.message)
    (payload,) = feedback_payloads(
        project, with_issues(project, [report]), user=request.user
    )
    return payload


def _field_error(field: str, message: str) -> HttpResponse:
    return HttpResponse(
        orjson.dumps({field: [message]}), status=400, content_type="application/json"
    )
