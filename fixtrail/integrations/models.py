"""Trackers connected to an organization or project, and the links from
issues to tickets in them.

GitLab's error tracking, after it opens a GitLab issue for a Sentry issue,
reports the GitLab issue back with ``POST /api/0/issues/{id}/plugins/gitlab/
link/`` and a body of ``{"issue_id": <GitLab iid>}``. Such a link has no
Integration (``origin`` "plugin") and is shown again in the issue's
``pluginIssues`` and ``annotations``, which is where GitLab looks for it on
its next read. Links that Fixtrail files or links itself belong to an
Integration and follow the ticket's state both ways (see sync.py).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fixtrail.core.fields import SealedTextField
from fixtrail.issues.models import Issue


class Kind(models.TextChoices):
    GITLAB = "gitlab", "GitLab"
    GITHUB = "github", "GitHub"
    JIRA = "jira", "Jira"


def _new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Integration(models.Model):
    """A tracker connection: where tickets go and with which credentials."""

    organization = models.ForeignKey(
        "accounts.Organization", models.CASCADE, related_name="integrations"
    )
    # None: every project of the organization may use it.
    project = models.ForeignKey(
        "projects.Project",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="integrations",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Chosen by people and scripts (`--integration NAME`); unique per org.
    name = models.SlugField(max_length=50)
    # GitLab: the instance ("https://gitlab.example.com"); GitHub: the API
    # root ("https://api.github.com"); Jira: the site.
    base_url = models.URLField(max_length=300)
    token = SealedTextField()
    # Jira's account e-mail (basic auth with the API token).
    email = models.CharField(max_length=254, blank=True)
    # GitLab "group/project", GitHub "owner/repo", Jira project key.
    target = models.CharField(max_length=255)
    # Jira only: the issue type of created tickets.
    issue_type = models.CharField(max_length=64, blank=True)
    # Defaults of the create form, comma-separated labels and a username
    # (GitLab), login (GitHub) or account id (Jira).
    labels = models.CharField(max_length=500, blank=True)
    assignee = models.CharField(max_length=128, blank=True)
    # Part of the webhook URL, so the hook finds its integration without
    # parsing the body first.
    hook_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook_secret = SealedTextField(default=_new_webhook_secret)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The outcome of the last "test connection" ("" = never tested or fine).
    last_check_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="integration_name_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()} {self.target})"

    def get_absolute_url(self) -> str:
        return f"/organizations/{self.organization.slug}/integrations/"

    @property
    def webhook_url(self) -> str:
        """The address to configure on the tracker's side."""
        return f"{settings.BASE_URL}/hooks/tickets/{self.hook_id}/"

    def label_list(self) -> list[str]:
        """The default labels as a list."""
        return [label.strip() for label in self.labels.split(",") if label.strip()]

    def covers(self, issue: Issue) -> bool:
        """Whether tickets for ``issue`` may go to this tracker."""
        return issue.project.organization_id == self.organization_id and (
            self.project_id is None or self.project_id == issue.project_id
        )


class ExternalIssueLink(models.Model):
    class Provider(models.TextChoices):
        GITLAB = "gitlab", "GitLab"
        GITHUB = "github", "GitHub"
        JIRA = "jira", "Jira"

    class Origin(models.TextChoices):
        PLUGIN = "plugin", "GitLab error tracking"
        CREATED = "created", "Created from the issue"
        RULE = "rule", "Created by a rule"
        LINKED = "linked", "Linked by hand"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        UNKNOWN = "", "Unknown"

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="external_links")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # None for links GitLab's error tracking reported (no credentials).
    integration = models.ForeignKey(
        Integration, models.CASCADE, null=True, blank=True, related_name="links"
    )
    # The ticket's id in its tracker: GitLab's project-scoped iid, GitHub's
    # issue number, Jira's key ("OPS-12").
    external_id = models.CharField(max_length=64)
    # The ticket's web page when known; GitLab's plugin call sends only the
    # iid, so this is often empty there.
    url = models.URLField(max_length=500, blank=True)
    title = models.CharField(max_length=500, blank=True)
    origin = models.CharField(
        max_length=8, choices=Origin.choices, default=Origin.PLUGIN
    )
    # Derived from the tracker (webhooks, polls, our own calls' answers).
    state = models.CharField(max_length=8, choices=State.choices, blank=True)
    # The tracker's time of the state above; a webhook or poll older than
    # this is a replay or arrived out of order, and changes nothing.
    state_at = models.DateTimeField(null=True, blank=True)
    # When a poll or webhook last confirmed the state (the poll picks the
    # oldest first).
    synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "provider", "external_id"],
                condition=Q(integration__isnull=True),
                name="external_issue_link_unique",
            ),
            models.UniqueConstraint(
                fields=["issue", "integration", "external_id"],
                condition=Q(integration__isnull=False),
                name="external_issue_link_tracker_unique",
            ),
        ]
        indexes = [
            # Webhooks and polls: the links to one ticket of one tracker.
            models.Index(fields=["integration", "external_id"], name="link_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}#{self.external_id} for issue {self.issue_id}"

    @property
    def label(self) -> str:
        """How the ticket is named in lists: ``GL-#12``, ``GH-#12``, ``OPS-12``."""
        if self.provider == self.Provider.JIRA:
            return self.external_id
        prefix = "GH" if self.provider == self.Provider.GITHUB else "GL"
        return f"{prefix}-#{self.external_id}"

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED


class AutoTicketRule(models.Model):
    """File a ticket for each new issue in the integration's scope that
    matches ``query`` (the issue search syntax)."""

    integration = models.ForeignKey(Integration, models.CASCADE, related_name="rules")
    query = models.CharField(max_length=500)
    is_enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.integration.name}: {self.query}"


class SyncCursor(models.Model):
    """How far a periodic task has read a growing table (Activity ids)."""

    name = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
