"""What an import from another server remembers about where things came
from, and what running side by side with it sends on."""

from __future__ import annotations

from django.db import models

from fixtrail.core.fields import SealedTextField
from fixtrail.projects.models import Project, ProjectKey


class ImportedKey(models.Model):
    """A DSN key copied from another server whose project had another id.

    SDKs put the project id in the DSN path (``/api/<id>/envelope/``). When
    the source's id was taken here, ingest also accepts ``source_project_id``
    for this key, so a DSN keeps working when only its host changes.
    """

    key = models.OneToOneField(ProjectKey, models.CASCADE, related_name="imported")
    source_project_id = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.key.public_key} (was project {self.source_project_id})"


class ImportedIssue(models.Model):
    """An issue copied from another server, by the source's issue id.

    ``awaiting_match`` is set while no event here has joined the issue and
    the source gave no hash that digest would recognise: digest then joins
    the first new error with the same title and culprit to it
    (fixtrail.adoption.matching).
    """

    issue = models.OneToOneField(
        "issues.Issue", models.CASCADE, related_name="imported"
    )
    # Derived from issue.project; kept here so the digest lookup below needs
    # no join.
    project = models.ForeignKey("projects.Project", models.CASCADE, related_name="+")
    source_id = models.CharField(max_length=64)
    awaiting_match = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"], name="imported_issue_unique"
            )
        ]
        # Digest's lookup: unmatched imported issues of one project.
        indexes = [
            models.Index(
                fields=["project", "awaiting_match"], name="imported_awaiting_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} (was {self.source_id})"


class Forwarding(models.Model):
    """A project's "also forward to" DSN and how its deliveries went.

    The DSN holds the other server's key, so it is stored sealed and pages
    show only its host and project id.
    """

    project = models.OneToOneField(Project, models.CASCADE, related_name="forwarding")
    dsn = SealedTextField()
    is_active = models.BooleanField(default=True)
    forwarded = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    # Envelopes too large to forward (FIXTRAIL_FORWARD_MAX_BYTES).
    skipped = models.PositiveBigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_forwarded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ForwardEnvelope(models.Model):
    """An accepted envelope waiting to be sent on; deleted once sent or
    refused for good. ``checksum`` (sha1 of the body) keeps a queue message
    digested twice from being forwarded twice."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    checksum = models.CharField(max_length=40)
    body = models.BinaryField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "checksum"], name="forward_envelope_unique"
            )
        ]
