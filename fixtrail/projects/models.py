"""Projects, their DSN keys and their per-project settings."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from fixtrail.accounts.models import Organization, Team

# The digest's current grouping algorithm; new projects start on it and keep
# it until someone upgrades them, so existing issues never split.
CURRENT_GROUPING_VERSION = 2
DEFAULT_RETENTION_DAYS = 90
DEFAULT_MAX_EVENTS_STORED = 1_000_000

PLATFORMS = [
    ("python", "Python"),
    ("javascript", "JavaScript (browser)"),
    ("node", "Node.js"),
    ("java", "Java"),
    ("csharp", "C# / .NET"),
    ("go", "Go"),
    ("php", "PHP"),
    ("ruby", "Ruby"),
    ("cocoa", "iOS / macOS"),
    ("android", "Android"),
    ("native", "Native"),
    ("other", "Other"),
]


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user: object) -> ProjectQuerySet:
        """Projects in organizations the user is a member of."""
        return self.filter(organization__memberships__user=user)

    def by_path(self, path: str) -> Project | None:
        """The project an ``ORG/PROJECT`` path names (the command line's
        way of naming one), or None."""
        org_slug, _, slug = path.partition("/")
        return (
            self.select_related("organization")
            .filter(organization__slug=org_slug, slug=slug)
            .first()
        )


class Project(models.Model):
    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="projects"
    )
    teams = models.ManyToManyField(Team, related_name="projects", blank=True)
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=32, choices=PLATFORMS, default="other")
    created_at = models.DateTimeField(default=timezone.now)

    # Ingest.
    allowed_origins = models.TextField(
        blank=True,
        help_text="Browser origins allowed to send events, one per line; "
        "empty allows any.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=0)
    quota_per_month = models.PositiveIntegerField(default=0)

    # Privacy.
    scrub_data = models.BooleanField(default=True)
    scrub_fields = models.TextField(
        blank=True, help_text="Extra keys to scrub, one per line."
    )
    scrub_ip_addresses = models.BooleanField(default=False)

    # Grouping.
    grouping_version = models.PositiveSmallIntegerField(
        default=CURRENT_GROUPING_VERSION
    )
    fingerprint_rules = models.TextField(blank=True)
    stacktrace_rules = models.TextField(blank=True)

    # Inbound filters.
    filter_localhost = models.BooleanField(default=False)
    filter_browser_extensions = models.BooleanField(default=False)
    filter_web_crawlers = models.BooleanField(default=False)
    filter_error_messages = models.TextField(blank=True)
    filter_releases = models.TextField(blank=True)

    # Retention.
    retention_days = models.PositiveIntegerField(default=DEFAULT_RETENTION_DAYS)
    max_events_stored = models.PositiveIntegerField(default=DEFAULT_MAX_EVENTS_STORED)

    # Source of issue short ids (PROJECT-1A); bumped by digest in its batch
    # transaction when it creates issues.
    next_short_id = models.PositiveIntegerField(default=1)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"], name="project_slug_unique"
            )
        ]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return f"/organizations/{self.organization.slug}/projects/{self.slug}/"

    @property
    def short_id_prefix(self) -> str:
        return self.slug.upper()

    def primary_key(self) -> ProjectKey | None:
        """The first active DSN key (runs a query)."""
        return self.keys.filter(is_active=True).order_by("id").first()


def _public_key() -> str:
    return secrets.token_hex(16)


class ProjectKey(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="keys")
    label = models.CharField(max_length=64, default="Default")
    public_key = models.CharField(max_length=32, unique=True, default=_public_key)
    secret_key = models.CharField(max_length=32, default=_public_key)
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.label} ({self.public_key})"

    @property
    def dsn(self) -> str:
        base = urlsplit(settings.BASE_URL)
        path = base.path.rstrip("/")
        return (
            f"{base.scheme}://{self.public_key}@{base.netloc}{path}/{self.project_id}"
        )


@transaction.atomic
def create_project_with_key(org: Organization, name: str, platform: str) -> Project:
    """Create a project with a unique slug and its first DSN key."""
    base = slugify(name)[:40] or "project"
    slug, n = base, 1
    while Project.objects.filter(organization=org, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    project = Project.objects.create(
        organization=org, slug=slug, name=name, platform=platform
    )
    ProjectKey.objects.create(project=project)
    return project


class ProjectOwnership(models.Model):
    """A project's ownership rules and CODEOWNERS file (Sentry's
    ProjectOwnership). Parsing and matching: fixtrail.projects.ownership;
    saving with owners checked: fixtrail.projects.owners."""

    class AutoAssignment(models.TextChoices):
        ISSUE_OWNER = "issue_owner", "Auto Assign to Issue Owner"
        OFF = "off", "Turn off Auto-Assignment"

    project = models.OneToOneField(
        Project, models.CASCADE, related_name="ownership", primary_key=True
    )
    raw = models.TextField(blank=True)
    codeowners = models.TextField(blank=True)
    # Where the CODEOWNERS text came from: "paste", "api" or a repository.
    codeowners_source = models.CharField(max_length=200, blank=True)
    # Sentry's "fallthrough": with no matching rule, everyone is an owner.
    fallthrough = models.BooleanField(default=True)
    auto_assignment = models.CharField(
        max_length=16,
        choices=AutoAssignment.choices,
        default=AutoAssignment.ISSUE_OWNER,
    )
    date_created = models.DateTimeField(default=timezone.now)
    last_updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ownership of {self.project_id}"
