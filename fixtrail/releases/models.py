"""Releases and their deploys.

A release is a version of an organization's code (Sentry's model: one
release may span several projects). SDKs name it in each event's
``release``; sentry-cli creates, finalizes and deploys it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from fixtrail.accounts.models import Organization
from fixtrail.core.fields import SealedTextField
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
    # sentry-cli's dateStarted: when the build of this release began.
    started_at = models.DateTimeField(null=True, blank=True)
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

    def head_commits(self) -> list[Commit]:
        """Return the newest commit of each repository in this release
        (runs a query)."""
        heads: dict[int, Commit] = {}
        rows = self.release_commits.select_related(
            "commit__repository", "commit__merge_request"
        ).order_by("order", "pk")
        for row in rows:
            heads.setdefault(row.commit.repository_id, row.commit)
        return list(heads.values())


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


class Repository(models.Model):
    """A code repository linked to an organization's projects."""

    class Provider(models.TextChoices):
        GITLAB = "gitlab", "GitLab"
        GITHUB = "github", "GitHub"
        GIT = "git", "Git"

    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="repositories"
    )
    projects = models.ManyToManyField(Project, related_name="repositories", blank=True)
    provider = models.CharField(max_length=8, choices=Provider)
    # How sentry-cli names it in set-commits ("group/project" or any name).
    name = models.CharField(max_length=200)
    # The repository's web page (GitLab/GitHub) or its clone URL (git).
    url = models.URLField(max_length=500)
    # An access token for the provider's API or the git fetch; never shown.
    token = SealedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="repository_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class MergeRequest(models.Model):
    """A GitLab merge request or GitHub pull request that brought commits in."""

    repository = models.ForeignKey(
        Repository, models.CASCADE, related_name="merge_requests"
    )
    # GitLab's project-scoped iid, GitHub's pull request number.
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=500, blank=True)
    author = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    # The note Fixtrail wrote on it about its deploy's errors, edited in
    # place on the next report rather than posted again.
    feedback_note_id = models.CharField(max_length=64, blank=True)
    feedback_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="merge_request_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}!{self.number}"


class Commit(models.Model):
    repository = models.ForeignKey(Repository, models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=64)
    message = models.TextField(blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_email = models.CharField(max_length=200, blank=True)
    authored_at = models.DateTimeField(null=True, blank=True)
    merge_request = models.ForeignKey(
        MergeRequest, models.SET_NULL, null=True, blank=True, related_name="commits"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "sha"], name="commit_sha_unique"
            )
        ]

    def __str__(self) -> str:
        return self.sha[:12]


class CommitFile(models.Model):
    """A path a commit changed, for matching crash frames to commits."""

    class Change(models.TextChoices):
        ADDED = "A", "Added"
        MODIFIED = "M", "Modified"
        DELETED = "D", "Deleted"

    commit = models.ForeignKey(Commit, models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    # The path's last component: suspect commits match frames by file name
    # first, then by the longest common path suffix.
    filename = models.CharField(max_length=200)
    change = models.CharField(max_length=1, choices=Change, default=Change.MODIFIED)

    class Meta:
        indexes = [models.Index(fields=["filename"], name="commit_file_name_idx")]


class ReleaseCommit(models.Model):
    """A commit contained in a release, newest first (order 0)."""

    release = models.ForeignKey(Release, models.CASCADE, related_name="release_commits")
    commit = models.ForeignKey(Commit, models.CASCADE, related_name="release_commits")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "commit"], name="release_commit_unique"
            )
        ]
