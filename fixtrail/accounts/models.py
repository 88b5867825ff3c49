"""Users, organizations, teams, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models, transaction
from django.utils import timezone

# sentry-cli recognises user tokens by this prefix followed by 64 hex digits
# and accepts them without a format warning.
TOKEN_PREFIX = "sntryu_"

SCOPES = (
    "org:read",
    "org:write",
    "org:admin",
    "project:read",
    "project:write",
    "project:admin",
    "project:releases",
    "team:read",
    "team:write",
    "member:read",
    "member:write",
    "event:read",
    "event:write",
    "event:admin",
)


class UserManager(BaseUserManager):
    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        """Create a user with a normalized e-mail and a hashed password."""
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra
    ) -> User:
        return self.create_user(email, password, is_superuser=True, **extra)


class User(AbstractBaseUser):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_superuser = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user: User) -> OrganizationQuerySet:
        """Organizations the user is a member of."""
        return self.filter(memberships__user=user).order_by("name")


class Organization(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return f"/organizations/{self.slug}/"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do. Viewers read; members triage; admins manage
# projects and keys; owners also manage members and the organization.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(User, models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.role}"

    def has_role(self, minimum: str) -> bool:
        """Return True when this member's role is at least ``minimum``."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class MembershipError(Exception):
    """A change of members that would leave an organization unmanaged."""


@transaction.atomic
def set_member_role(org: Organization, email: str, role: str) -> Membership:
    """Add the person with ``email`` to ``org`` with ``role``, or change the
    role of a member; create an account without a usable password for a new
    person (they set one through the password reset e-mail).

    Raises MembershipError when the change would demote the last owner.
    """
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        user = User.objects.create_user(email, None)
    current = (
        Membership.objects.select_for_update()
        .filter(user=user, organization=org)
        .first()
    )
    if current and current.role == Role.OWNER and role != Role.OWNER:
        owners = org.memberships.filter(role=Role.OWNER).count()
        if owners == 1:
            raise MembershipError(
                f"{user.email} is the only owner: make someone else owner first."
            )
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=org, defaults={"role": role}
    )
    return membership


class Team(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="teams")
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="team_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.slug}"


def hash_token(token: str) -> str:
    """Return the stored form of an API token (tokens are never kept in clear)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def for_token(self, token: str) -> ApiToken | None:
        """Return the active token matching ``token``, or None."""
        return (
            self.active()
            .select_related("user")
            .filter(token_hash=hash_token(token))
            .first()
        )


class ApiToken(models.Model):
    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # sha256 of the token; the token itself is shown once at creation.
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell tokens apart in a list.
    token_start = models.CharField(max_length=16)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.token_start}…)"

    @classmethod
    def issue(cls, user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
        """Create a token and return it with its clear text, shown only once."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        clear = TOKEN_PREFIX + secrets.token_hex(32)
        token = cls.objects.create(
            user=user,
            name=name,
            token_hash=hash_token(clear),
            token_start=clear[: len(TOKEN_PREFIX) + 6],
            scopes=sorted(scopes),
        )
        return token, clear

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def touch(self) -> None:
        """Record a use; at most once a minute, to keep API reads write-free."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
