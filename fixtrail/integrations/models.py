"""Links from issues to tickets in outside trackers.

GitLab's error tracking, after it opens a GitLab issue for a Sentry issue,
reports the GitLab issue back with ``POST /api/0/issues/{id}/plugins/gitlab/
link/`` and a body of ``{"issue_id": <GitLab iid>}``. The link is kept here
and shown again in the issue's ``pluginIssues`` and ``annotations``, which
is where GitLab looks for it on its next read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from fixtrail.issues.models import Issue


class ExternalIssueLink(models.Model):
    class Provider(models.TextChoices):
        GITLAB = "gitlab", "GitLab"

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="external_links")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # The ticket's id in its tracker (GitLab: the project-scoped iid).
    external_id = models.CharField(max_length=64)
    # The ticket's web page when the caller told it; GitLab's plugin call
    # sends only the iid, so this is often empty.
    url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "provider", "external_id"],
                name="external_issue_link_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}#{self.external_id} for issue {self.issue_id}"

    @property
    def label(self) -> str:
        """How the ticket is named in lists, e.g. ``GL-#12``."""
        return f"GL-#{self.external_id}"
