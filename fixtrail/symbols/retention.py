"""Retention of uploaded artifacts: remove the ones digest has not used
for FIXTRAIL_ARTIFACT_RETENTION_DAYS (counting from the upload when never
used), the stored contents nothing names any more, and chunks that never
became an upload.

Run by the worker's periodic retention job, after the events' retention.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from fixtrail.symbols import storage
from fixtrail.symbols.models import Artifact, Upload

logger = logging.getLogger(__name__)

# Uploads in the error state are kept this long for sentry-cli to read.
ERROR_UPLOAD_TTL = dt.timedelta(days=1)


def delete_artifact(artifact: Artifact) -> None:
    """Delete one artifact, its upload when that was its last file, and its
    content when nothing else names it."""
    with transaction.atomic():
        upload_id, checksum = artifact.upload_id, artifact.checksum
        artifact.delete()
        Upload.objects.filter(pk=upload_id, artifacts__isnull=True).delete()
    if not Artifact.objects.filter(checksum=checksum).exists():
        storage.delete_file(checksum)


def enforce_artifact_retention(now: dt.datetime) -> dict[str, int]:
    """Remove unused artifacts, orphaned contents and stale chunks; return
    how many of each went."""
    cutoff = now - dt.timedelta(days=settings.FIXTRAIL_ARTIFACT_RETENTION_DAYS)
    stale = Artifact.objects.filter(
        Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
    )
    artifacts, _ = stale.delete()
    Upload.objects.filter(
        kind__in=[Upload.Kind.BUNDLE, Upload.Kind.DIF, Upload.Kind.RELEASE_FILE],
        state=Upload.State.OK,
        artifacts__isnull=True,
    ).delete()
    Upload.objects.filter(
        state=Upload.State.ERROR, created_at__lt=now - ERROR_UPLOAD_TTL
    ).delete()
    referenced = set(Artifact.objects.values_list("checksum", flat=True).distinct())
    files = 0
    for checksum in list(storage.stored_files()):
        if checksum not in referenced:
            storage.delete_file(checksum)
            files += 1
    chunks = storage.delete_old_chunks(now.timestamp())
    if artifacts or files or chunks:
        logger.info(
            "artifact retention: %d artifacts, %d files, %d chunks removed",
            artifacts,
            files,
            chunks,
        )
    return {"artifacts": artifacts, "files": files, "chunks": chunks}
