"""Issues: groups of events that share a grouping hash, and their aggregates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from fixtrail.accounts.models import Team
from fixtrail.issues import lifecycle
from fixtrail.projects.models import Project


class Status(models.TextChoices):
    UNRESOLVED = "unresolved", "Unresolved"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


class Substatus(models.TextChoices):
    NEW = "new", "New"
    ONGOING = "ongoing", "Ongoing"
    REGRESSED = "regressed", "Regressed"
    ESCALATING = "escalating", "Escalating"
    # Set while resolved or ignored.
    NONE = "", "—"


class InboxReason(models.TextChoices):
    """Why an issue waits in the review inbox (Sentry's GroupInboxReason)."""

    NEW = "new", "New issue"
    REGRESSION = "regression", "Regression"
    ESCALATING = "escalating", "Escalating"
    MANUAL = "manual", "Marked for review"
    # Reviewed: the issue is out of the inbox.
    NONE = "", "Reviewed"


class Priority(models.IntegerChoices):
    LOW = 25, "Low"
    MEDIUM = 50, "Medium"
    HIGH = 75, "High"


class Level(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    FATAL = "fatal", "Fatal"


class Issue(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="issues")
    # Per-project sequence number; rendered base-36 as PROJECT-1A.
    short_id = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    culprit = models.CharField(max_length=500, blank=True)
    # Exception type and value of the first event ("" for messages).
    type = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.ERROR)
    platform = models.CharField(max_length=32, default="other")
    # Shown in the list: {"type", "value", "filename", "function"}, from the
    # first event, like Sentry's "metadata".
    metadata = models.JSONField(default=dict)

    # Derived by digest from the events it stored (batch-updated).
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    times_seen = models.PositiveBigIntegerField(default=0)
    user_count = models.PositiveIntegerField(default=0)
    first_release = models.CharField(max_length=250, blank=True)
    last_release = models.CharField(max_length=250, blank=True)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.UNRESOLVED
    )
    substatus = models.CharField(
        max_length=12, choices=Substatus.choices, default=Substatus.NEW, blank=True
    )
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.MEDIUM
    )
    # True from a regression until the issue is next resolved; searchable
    # as is:regressed.
    is_regressed = models.BooleanField(default=False)
    # The review inbox: why the issue waits for someone to look at it ("" once
    # someone opened it or acted on it), and since when. New issues enter it
    # with reason "new"; digest puts regressions and escalations back.
    inbox_reason = models.CharField(
        max_length=12,
        choices=InboxReason.choices,
        default=InboxReason.NEW,
        blank=True,
    )
    inbox_at = models.DateTimeField(default=timezone.now)

    # Resolution. resolved_in_release = "" with in_next_release False means
    # "resolved now".
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_in_release = models.CharField(max_length=250, blank=True)
    resolved_in_next_release = models.BooleanField(default=False)
    resolved_in_commit = models.CharField(max_length=64, blank=True)

    # Ignore conditions; all empty means "forever". The *_base fields hold
    # the counts at the moment of ignoring, so "N more" can be compared.
    ignored_at = models.DateTimeField(null=True, blank=True)
    ignore_until = models.DateTimeField(null=True, blank=True)
    ignore_count = models.PositiveIntegerField(null=True, blank=True)
    ignore_window = models.PositiveIntegerField(null=True, blank=True)  # minutes
    ignore_user_count = models.PositiveIntegerField(null=True, blank=True)
    ignore_user_window = models.PositiveIntegerField(null=True, blank=True)  # min
    ignore_base_count = models.PositiveBigIntegerField(default=0)
    ignore_base_users = models.PositiveIntegerField(default=0)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_issues",
    )
    assignee_team = models.ForeignKey(
        Team, models.SET_NULL, null=True, blank=True, related_name="assigned_issues"
    )
    bookmarked_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="bookmarked_issues", blank=True
    )
    seen_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="seen_issues", blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "short_id"], name="issue_short_id_unique"
            )
        ]
        indexes = [
            # The issue list: one project's issues in a state, by recency.
            models.Index(
                fields=["project", "status", "last_seen"], name="issue_list_idx"
            ),
            models.Index(fields=["project", "last_seen"], name="issue_last_seen_idx"),
            models.Index(fields=["project", "first_seen"], name="issue_first_seen_idx"),
            models.Index(fields=["project", "times_seen"], name="issue_times_seen_idx"),
            # "For review", and the count of it per project.
            models.Index(
                fields=["project", "inbox_reason", "inbox_at"], name="issue_inbox_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_id_display}: {self.title}"

    def get_absolute_url(self) -> str:
        return f"/issues/{self.pk}/"

    @property
    def short_id_display(self) -> str:
        """PROJECT-1A; reads self.project (a query unless selected)."""
        return f"{self.project.short_id_prefix}-{base36(self.short_id)}"

    @property
    def for_review(self) -> bool:
        """Whether the issue waits in the review inbox."""
        return bool(self.inbox_reason)

    def resolution(self) -> lifecycle.Resolution | None:
        """Return how this issue was resolved, or None unless resolved."""
        if self.status != Status.RESOLVED or self.resolved_at is None:
            return None
        if self.resolved_in_release:
            how = lifecycle.IN_RELEASE
        elif self.resolved_in_next_release:
            how = lifecycle.NEXT_RELEASE
        elif self.resolved_in_commit:
            how = lifecycle.IN_COMMIT
        else:
            how = lifecycle.NOW
        return lifecycle.Resolution(how, self.resolved_at, self.resolved_in_release)

    def ignore_conditions(self) -> lifecycle.IgnoreConditions | None:
        """Return what ends this issue's ignore, or None unless ignored."""
        if self.status != Status.IGNORED:
            return None
        return lifecycle.IgnoreConditions(
            until=self.ignore_until,
            count=self.ignore_count,
            window_minutes=self.ignore_window,
            user_count=self.ignore_user_count,
            user_window_minutes=self.ignore_user_window,
            base_count=self.ignore_base_count,
            base_users=self.ignore_base_users,
        )


def base36(number: int) -> str:
    """Return ``number`` in upper-case base 36, as short ids show it."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


class IssueHash(models.Model):
    """A grouping hash and the issue its events go to (several after a merge)."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    hash = models.CharField(max_length=32)
    issue = models.ForeignKey(Issue, models.CASCADE, related_name="hashes")
    grouping_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "hash"], name="issue_hash_unique"
            )
        ]


class Activity(models.Model):
    class Kind(models.TextChoices):
        FIRST_SEEN = "first_seen", "First seen"
        RESOLVED = "resolved", "Resolved"
        UNRESOLVED = "unresolved", "Unresolved"
        REGRESSION = "regression", "Regression"
        IGNORED = "ignored", "Ignored"
        ESCALATING = "escalating", "Escalating"
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        MERGED = "merged", "Merged"
        COMMENT = "comment", "Comment"
        PRIORITY = "priority", "Priority changed"
        REVIEWED = "reviewed", "Marked reviewed"

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="activities")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Kind-specific details, e.g. {"release": "1.2"} or {"text": "..."}.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["issue", "created_at"], name="activity_idx")]


class HourlyCount(models.Model):
    """Events per issue per hour, for the 24-hour and 30-day charts."""

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="hourly_counts")
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "hour"], name="hourly_unique")
        ]


class TagValue(models.Model):
    """How often an issue's events carried a tag value (release and
    environment included), with when it was first and last seen."""

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="tag_values")
    key = models.CharField(max_length=32)
    value = models.CharField(max_length=200)
    times_seen = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "key", "value"], name="tag_value_unique"
            )
        ]
        indexes = [
            # Search by tag (release:, environment:, any tag:value).
            models.Index(fields=["key", "value"], name="tag_value_search_idx"),
        ]


class IssueUser(models.Model):
    """A distinct user affected by an issue; Issue.user_count counts these."""

    issue = models.ForeignKey(Issue, models.CASCADE, related_name="affected_users")
    # "id:42", "email:a@b.c", "username:x" or "ip:1.2.3.4": the first the
    # event had, so the same person counts once.
    identity = models.CharField(max_length=250)
    email = models.CharField(max_length=250, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "identity"], name="issue_user_unique"
            )
        ]
        indexes = [models.Index(fields=["email"], name="issue_user_email_idx")]


class SavedSearch(models.Model):
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="saved_searches"
    )
    organization = models.ForeignKey(
        "accounts.Organization", models.CASCADE, related_name="saved_searches"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    name = models.CharField(max_length=100)
    query = models.TextField()
    sort = models.CharField(max_length=20, default="date")
    # Shared searches are visible to the whole organization.
    is_shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)


class IssueOwner(models.Model):
    """Who owns an issue by the project's ownership rules, and the rule
    that said so (set by digest when the issue opens)."""

    issue = models.OneToOneField(
        Issue, models.CASCADE, related_name="owner", primary_key=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="owned_issues",
    )
    team = models.ForeignKey(
        Team, models.CASCADE, null=True, blank=True, related_name="owned_issues"
    )
    # "CODEOWNERS line 4: codeowners:/src/auth/ @acme/identity".
    rule = models.CharField(max_length=600)
    # Whether digest assigned the issue to this owner.
    auto_assigned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)


class IssueSignature(models.Model):
    """An issue's MinHash signatures (fixtrail.issues.similarity), computed
    by digest from its first event."""

    issue = models.OneToOneField(
        Issue, models.CASCADE, related_name="signature", primary_key=True
    )
    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    stack = models.BinaryField(default=b"")
    message = models.BinaryField(default=b"")


class IssueSignatureBand(models.Model):
    """One LSH band of an issue's signatures: issues that share a band key
    are the candidates a similar-issues lookup scores."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    key = models.BigIntegerField()
    issue = models.ForeignKey(Issue, models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["project", "key"], name="issue_band_lookup_idx")
        ]
