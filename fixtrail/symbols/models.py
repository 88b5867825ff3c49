"""Uploaded artifacts: source-map bundles, release files, ProGuard mappings.

An upload is what one assemble request (or one release-file POST) stored:
its state answers sentry-cli's polling. Each file it brought becomes an
Artifact row per project, whose content lives once, by sha1, in
:mod:`fixtrail.symbols.storage`. Digest finds artifacts by debug ID, or by
release + dist + URL, and reads their content from storage.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project


class Upload(models.Model):
    class Kind(models.TextChoices):
        BUNDLE = "bundle", "Artifact bundle"
        DIF = "dif", "Debug file"
        RELEASE_FILE = "release_file", "Release file"

    class State(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # sha1 of the whole uploaded file, as sentry-cli names it when polling.
    checksum = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=State.choices)
    # Why an upload failed, shown to sentry-cli as the assemble "detail".
    detail = models.CharField(max_length=500, blank=True)
    name = models.CharField(max_length=250, blank=True)
    # A bundle's own debug ID (manifest "debug_id"); a DIF's debug ID.
    debug_id = models.CharField(max_length=64, blank=True)
    release = models.CharField(max_length=250, blank=True)
    dist = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Polling and re-uploads find the answer by checksum.
            models.UniqueConstraint(
                fields=["organization", "kind", "checksum"], name="upload_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.checksum}"


class Artifact(models.Model):
    class Kind(models.TextChoices):
        MINIFIED_SOURCE = "minified_source", "Minified source"
        SOURCE_MAP = "source_map", "Source map"
        SOURCE = "source", "Source"
        PROGUARD = "proguard", "ProGuard mapping"
        OTHER = "other", "Other"

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    upload = models.ForeignKey(Upload, models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # As the bundle manifest spells it: "~/static/main.js" or a full URL.
    url = models.CharField(max_length=500, blank=True)
    # Lowercase hyphenated UUID form; "" when the file has none.
    debug_id = models.CharField(max_length=64, blank=True)
    # Copied from the upload so release lookups need no join.
    release = models.CharField(max_length=250, blank=True)
    dist = models.CharField(max_length=64, blank=True)
    # sha1 of the content: the storage key and the parsed-map cache key.
    checksum = models.CharField(max_length=40)
    size = models.BigIntegerField()
    # Manifest headers, such as {"sourcemap": "main.js.map"}.
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by digest when it applied this artifact; retention keeps used ones.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Digest: the artifact with this debug ID in this project.
            models.Index(fields=["project", "debug_id"], name="artifact_debug_idx"),
            # Digest and the release-files API: release + dist + URL.
            models.Index(
                fields=["project", "release", "dist", "url"], name="artifact_url_idx"
            ),
            # Retention: which blobs are still referenced.
            models.Index(fields=["checksum"], name="artifact_checksum_idx"),
        ]

    def __str__(self) -> str:
        return self.url or self.debug_id or self.checksum
