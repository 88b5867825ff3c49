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
