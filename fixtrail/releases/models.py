"""Releases and their deploys.

A release is a version of an organization's code (Sentry's model: one
release may span several projects). SDKs name it in each event's
``release``; sentry-cli creates, finalizes and deploys it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project


class Release(models.Model):
    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="releases"
    )
    projects = models.ManyToManyField(Project, related_name="releases")
    # As the SDK or sentry-cli spells it: "backend@2.1.0+build4", a sha, ...
    version = models.CharField(max_length=250)
    # The git ref the release was built from, when sentry-cli said.
    ref = models.CharField(max_length=250, blank=True)
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by `sentry-cli releases finalize`; None while still being built.
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="release_version_unique"
            )
        ]

    def __str__(self) -> str:
        return self.version


class Deploy(models.Model):
    release = models.ForeignKey(Release, models.CASCADE, related_name="deploys")
    environment = models.CharField(max_length=64)
    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The latest deploy of a release per environment (issue page).
            models.Index(fields=["release", "finished_at"], name="deploy_release_idx")
        ]

    def __str__(self) -> str:
        return f"{self.release} to {self.environment}"
