"""Personal mutes of alert e-mails: of an issue, a project, or all."""

from __future__ import annotations

from fixtrail.alerts.models import AlertMute
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project


class MuteError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def mute(
    user: object, *, issue: Issue | None = None, project: Project | None = None
) -> AlertMute:
    """Mute alert e-mails to ``user`` about ``issue``, ``project``, or
    everything (neither given); muting twice returns the existing mute.
    The caller has checked that the user may see the issue or project."""
    if issue is not None and project is not None:
        raise MuteError("Mute an issue or a project, not both.")
    item, _ = AlertMute.objects.get_or_create(user=user, issue=issue, project=project)
    return item


def unmute(
    user: object, *, issue: Issue | None = None, project: Project | None = None
) -> int:
    """Remove ``user``'s mute of exactly that scope; return how many."""
    deleted, _ = AlertMute.objects.filter(
        user=user, issue=issue, project=project
    ).delete()
    return deleted


def is_muted(
    user: object, *, issue: Issue | None = None, project: Project | None = None
) -> bool:
    """Return True when ``user`` muted exactly that scope."""
    return AlertMute.objects.filter(user=user, issue=issue, project=project).exists()
