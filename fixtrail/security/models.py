"""Two-factor devices, recovery codes, the session register and the
organization's sign-in policy."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from fixtrail.core.fields import SealedTextField

# Ten codes of 10 base32 characters (50 bits each): enough for a lost phone
# and the weeks until a new one, too long to guess under the login throttle.
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def hash_recovery_code(code: str) -> str:
    """Return the stored form of a recovery code (dashes and case ignored)."""
    normal = code.replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normal.encode()).hexdigest()


class TOTPDevice(models.Model):
    """A user's authenticator app; active once ``confirmed_at`` is set."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp"
    )
    secret = SealedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last accepted code, so a code is never accepted
    # twice (RFC 6238 section 5.2).
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"TOTP for {self.user}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of {self.user}"

    @classmethod
    def issue(cls, user) -> list[str]:
        """Replace the user's recovery codes; return the new ones in clear."""
        codes = []
        for _ in range(RECOVERY_CODE_COUNT):
            raw = "".join(
                secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)
            )
            codes.append(f"{raw[:5]}-{raw[5:]}")
        cls.objects.filter(user=user).delete()
        cls.objects.bulk_create(
            cls(user=user, code_hash=hash_recovery_code(c)) for c in codes
        )
        return codes


class UserSession(models.Model):
    """A signed-in browser session, so its user can see and end it.

    Django's session table cannot be queried by user; this row is written
    at sign-in and its ``session_key`` points into that table.
    """

    class Method(models.TextChoices):
        PASSWORD = "password", "Password"
        TWO_FACTOR = "two_factor", "Password and authenticator"
        SSO = "sso", "Single sign-on"
        OTHER = "other", "Other"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=20, choices=Method, default=Method.OTHER)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user} from {self.ip_address}"


class OrganizationPolicy(models.Model):
    """Sign-in rules an organization's owners set for its members."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="policy"
    )
    require_two_factor = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"policy of {self.organization}"
