"""What an import from another server remembers about where things came from."""

from __future__ import annotations

from django.db import models

from fixtrail.projects.models import ProjectKey


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
