"""Alert rules, their actions, the alerts they fired, and the mutes and
digest preferences of people."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fixtrail.core.fields import SealedTextField
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project


class AlertRule(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200)
    # What fires the rule, any of fixtrail.alerts.triggers.TRIGGERS, e.g.
    # ["new", "regression"] or ["frequency"]; any one of them is enough.
    triggers = models.JSONField(default=list)
    # N of "frequency"/"users" (more than N in window_minutes) and K of
    # "spike" (the last hour K times the usual rate).
    threshold = models.PositiveIntegerField(default=0)
    window_minutes = models.PositiveIntegerField(default=0)
    # Search syntax (fixtrail.issues.search); empty matches every issue.
    filter = models.TextField(blank=True)
    # The least time between two alerts of this rule about one issue.
    cooldown_minutes = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    # The rule every project gets when it is created.
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The evaluator: the active rules of the projects with activity.
            models.Index(fields=["project", "is_active"], name="alert_rule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.project})"

    def get_absolute_url(self) -> str:
        return f"{self.project.get_absolute_url()}alerts/{self.pk}/"

    @property
    def job_owner(self) -> str:
        """The owner string of this rule's delivery jobs (fixtrail.jobs)."""
        return f"alerts.rule:{self.pk}"


class AlertAction(models.Model):
    class Kind(models.TextChoices):
        MEMBERS = "members", "E-mail the project's members"
        EMAIL = "email", "E-mail an address"
        WEBHOOK = "webhook", "Webhook"
        APPRISE = "apprise", "Chat service (apprise URL)"

    rule = models.ForeignKey(AlertRule, models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The address or URL; sealed because chat and webhook URLs carry tokens.
    target = SealedTextField(blank=True)
    # What pages show instead of the target: the address, or a URL's scheme
    # and host (derived from target on save).
    label = models.CharField(max_length=250, blank=True)
    # Webhooks: the HMAC-SHA256 key of X-Fixtrail-Signature.
    secret = SealedTextField(blank=True)

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}"

    def spec(self) -> str:
        """Return the action as written on the command line, redacted
        (``email:ops@example.com``, ``webhook:https://hooks.example.com/…``)."""
        if self.kind == self.Kind.MEMBERS:
            return "members"
        return f"{self.kind}:{self.label}"


def channel_key(kind: str, destination: str) -> str:
    """Return the fixed-length key one destination's hourly cap counts on."""
    return hashlib.sha256(f"{kind}:{destination}".encode()).hexdigest()


class AlertNotice(models.Model):
    """An alert a rule fired about an issue: one per trigger occurrence,
    whatever the number of actions and recipients."""

    rule = models.ForeignKey(AlertRule, models.CASCADE, related_name="notices")
    issue = models.ForeignKey(Issue, models.CASCADE, related_name="alert_notices")
    trigger = models.CharField(max_length=20)
    # What fired it once only: "activity:<id>" or "tag:<id>"; empty for the
    # threshold triggers, which the cool-down alone spaces out.
    source = models.CharField(max_length=40, blank=True)
    # Counts at firing time, e.g. {"window_events": 120, "window_minutes": 10}.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # An Activity row re-read by the evaluator never fires twice.
            models.UniqueConstraint(
                fields=["rule", "source"],
                condition=~Q(source=""),
                name="alert_notice_source_unique",
            )
        ]
        indexes = [
            # The cool-down check: this rule's latest alert about an issue.
            models.Index(
                fields=["rule", "issue", "created_at"], name="alert_notice_cool_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.issue_id}: {self.trigger}"


class ChannelHour(models.Model):
    """Messages sent to (and dropped for) one destination in one hour; the
    global hourly cap per channel counts on it, across rules and projects."""

    channel = models.CharField(max_length=64)  # channel_key()
    hour = models.DateTimeField()
    sent = models.PositiveIntegerField(default=0)
    dropped = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "hour"], name="channel_hour")
        ]


class AlertMute(models.Model):
    """A person's mute: of one issue, of one project, or (both empty) of
    every alert e-mail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="alert_mutes"
    )
    project = models.ForeignKey(Project, models.CASCADE, null=True, blank=True)
    issue = models.ForeignKey(Issue, models.CASCADE, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user"], name="alert_mute_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.scope}"

    @property
    def scope(self) -> str:
        if self.issue_id:
            return "issue"
        return "project" if self.project_id else "all"


class AlertPreference(models.Model):
    class Digest(models.TextChoices):
        OFF = "off", "No digest"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="alert_preference"
    )
    digest = models.CharField(max_length=8, choices=Digest.choices, default="off")
    # The end of the period the last digest covered.
    last_digest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.digest}"


class AlertCursor(models.Model):
    """How far the evaluator has read a table (Activity, TagValue).

    ``position`` is the highest id read. ``settled`` is the highest id read
    at least SETTLE_SECONDS ago: rows above it are read again, because on
    PostgreSQL a digest transaction that took a lower id may commit after
    a higher one was read.
    """

    name = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)
    settled = models.BigIntegerField(default=0)
    # [[ISO time, position], ...] of recent runs, to move ``settled`` on.
    checkpoints = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.name}@{self.position}"
