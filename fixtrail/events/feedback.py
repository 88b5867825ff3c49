"""What users tell a project: user reports and feedback, read and written.

Three senders end up as one ``UserReport`` row:

- the JavaScript SDK's feedback widget (``feedback`` envelope items) and the
  older ``user_report`` items, both stored by digest (digest.prepare);
- Sentry's crash-report dialog (``Sentry.showReportDialog()``), served at
  ``/api/embed/error-page/`` and written here by :func:`submit_feedback`;
- Sentry's ``POST /api/0/projects/{org}/{proj}/user-feedback/``, also here.

A report names the event it is about by ``event_id``; the issue it belongs
to is that event's issue, looked up when reports are listed (feedback can
arrive before its event is digested, so the link cannot be fixed on write).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import QuerySet

from fixtrail.events.models import Event, UserReport
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project

# The same bounds digest applies to reports from envelopes.
MAX_NAME_CHARS = 200
# A comment longer than this is not something a person typed into a dialog.
MAX_COMMENTS_CHARS = 10_000

_EVENT_ID = re.compile(r"[0-9a-f]{32}")
# Enough to reject obvious typos without pretending to validate delivery.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class FeedbackError(ValueError):
    """Feedback that cannot be stored; the message says which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Feedback:
    """A report with the issue of the event it is about (None when that
    event is unknown, not digested yet, or the feedback stands alone)."""

    report: UserReport
    issue: Issue | None


def clean_event_id(text: str) -> str:
    """Return an event id as stored (32 lowercase hex), from hex or UUID form.

    Raises FeedbackError for anything else.
    """
    event_id = text.strip().replace("-", "").lower()
    if not _EVENT_ID.fullmatch(event_id):
        raise FeedbackError("event_id", "event_id must be a 32-digit hex event id")
    return event_id


def submit_feedback(
    project: Project,
    *,
    event_id: str,
    name: str,
    email: str,
    comments: str,
    now: dt.datetime,
) -> UserReport:
    """Store one report about ``event_id`` and return it.

    Raises FeedbackError when a field is missing or malformed; nothing is
    stored then.
    """
    event_id = clean_event_id(event_id)
    name, email, comments = name.strip(), email.strip(), comments.strip()
    if not comments:
        raise FeedbackError("comments", "comments must not be empty")
    if len(comments) > MAX_COMMENTS_CHARS:
        raise FeedbackError(
            "comments", f"comments must be at most {MAX_COMMENTS_CHARS} characters"
        )
    if len(name) > MAX_NAME_CHARS:
        raise FeedbackError("name", f"name must be at most {MAX_NAME_CHARS} characters")
    if len(email) > MAX_NAME_CHARS or (email and not _EMAIL.fullmatch(email)):
        raise FeedbackError("email", "email must be an e-mail address")
    return UserReport.objects.create(
        project=project,
        event_id=event_id,
        name=name,
        email=email,
        comments=comments,
        created_at=now,
    )


def reports_of_issue(issue: Issue) -> QuerySet[UserReport]:
    """Return the reports about any event of ``issue``, newest first."""
    event_ids = Event.objects.filter(issue=issue).values("event_id")
    return UserReport.objects.filter(
        project_id=issue.project_id, event_id__in=event_ids
    ).order_by("-created_at", "-pk")


def reports_of_project(project: Project) -> QuerySet[UserReport]:
    """Return a project's reports, newest first."""
    return UserReport.objects.filter(project=project).order_by("-created_at", "-pk")


def with_issues(project: Project, reports: list[UserReport]) -> list[Feedback]:
    """Pair each report with the issue of its event.

    Runs two queries whatever the number of reports (events, then issues).
    """
    event_ids = {report.event_id for report in reports}
    issue_of_event = dict(
        Event.objects.filter(project=project, event_id__in=event_ids).values_list(
            "event_id", "issue_id"
        )
    )
    issues = Issue.objects.select_related(
        "project", "assignee", "assignee_team"
    ).in_bulk(set(issue_of_event.values()))
    return [
        Feedback(report, issues.get(issue_of_event.get(report.event_id)))
        for report in reports
    ]
