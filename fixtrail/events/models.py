"""Stored events and what arrives with them (attachments, user feedback),
processing errors, and per-project counts of what ingest saw."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from fixtrail.events.storage import decompress_event
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project


class Event(models.Model):
    # No single-column indexes on the foreign keys: the composite indexes in
    # Meta start with them, and every index costs each insert.
    project = models.ForeignKey(
        Project, models.CASCADE, related_name="+", db_index=False
    )
    issue = models.ForeignKey(
        Issue, models.CASCADE, related_name="events", db_index=False
    )
    event_id = models.CharField(max_length=32)
    # When it happened (SDK clock, drift-corrected) and when it arrived.
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    # Copied out of the payload for listing and search without decompressing.
    title = models.CharField(max_length=500)
    level = models.CharField(max_length=10)
    release = models.CharField(max_length=250, blank=True)
    environment = models.CharField(max_length=64, blank=True)
    user_identity = models.CharField(max_length=250, blank=True)
    grouping_hash = models.CharField(max_length=32)
    # The normalized event, zstd-compressed JSON.
    data = models.BinaryField()
    size = models.PositiveIntegerField(default=0)

    class Meta:
        # No unique constraint on (project, event_id): on PostgreSQL this table
        # is partitioned by day of received_at, and a unique index there must
        # include the partition key. EventKey below holds the uniqueness.
        indexes = [
            # An issue's events, newest first (issue page, latest/oldest).
            models.Index(fields=["issue", "timestamp"], name="event_issue_time_idx"),
            # Retention deletes the oldest events of a project first.
            models.Index(fields=["project", "received_at"], name="event_retention_idx"),
            # An event by its SDK id (event page, attachments, user reports).
            models.Index(fields=["project", "event_id"], name="event_id_idx"),
        ]

    def __str__(self) -> str:
        return self.event_id

    def get_data(self) -> dict:
        """Return the stored normalized event (decompresses ``data``)."""
        return decompress_event(self.data)


class EventKey(models.Model):
    """The (project, event_id) of every stored event: digest inserts here
    first, and only the ids it could insert count as new, which makes a
    redelivered event change nothing. Retention deletes these rows with
    their events, so an id may be stored again once its event is gone."""

    # Indexed by the unique constraint, which starts with it.
    project = models.ForeignKey(
        Project, models.CASCADE, related_name="+", db_index=False
    )
    event_id = models.CharField(max_length=32)
    # Copied from Event.received_at, for retention.
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "event_id"], name="event_key_unique"
            )
        ]
        indexes = [
            # Retention deletes a project's keys older than its cut-off.
            models.Index(fields=["project", "received_at"], name="event_key_age_idx"),
        ]


class Attachment(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=32)
    name = models.CharField(max_length=250)
    content_type = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=50, default="event.attachment")
    size = models.PositiveBigIntegerField(default=0)
    # Relative to FIXTRAIL_DATA_DIR.
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "event_id"], name="attachment_idx")]


class UserReport(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=32)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "event_id"], name="userreport_idx")]


class ProcessingError(models.Model):
    """An event digest could not store; shown on the project page."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=32, blank=True)
    error = models.TextField()
    # The start of the payload, to help whoever debugs it.
    excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    FILTERED = "filtered", "Filtered"
    RATE_LIMITED = "rate_limited", "Rate limited"
    CLIENT_DISCARD = "client_discard", "Discarded by the client"
    INVALID = "invalid", "Invalid"
    TOO_LARGE = "too_large", "Too large"


class ItemCount(models.Model):
    """What ingest and digest saw of a project, per hour, item type and
    outcome; the project's stats page reads these."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    item_type = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # For filtered and discarded items: which filter or client reason.
    reason = models.CharField(max_length=64, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "hour", "item_type", "outcome", "reason"],
                name="item_count_unique",
            )
        ]


class SessionCount(models.Model):
    """Release-health sessions per day, by release, environment and status."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    day = models.DateField()
    release = models.CharField(max_length=250)
    environment = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day", "release", "environment", "status"],
                name="session_count_unique",
            )
        ]
