"""TOTP two-factor authentication (RFC 6238) with recovery codes.

Enrolment has two steps, so a typo in the authenticator app never locks a
user out: ``begin_enrollment`` makes an unconfirmed device whose secret the
page shows as a QR code, and ``confirm_enrollment`` activates it once the
user types a code it produced, returning fresh recovery codes.
"""

from __future__ import annotations

import pyotp
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from fixtrail.security.models import (
    OrganizationPolicy,
    RecoveryCode,
    TOTPDevice,
    hash_recovery_code,
)

ISSUER = "Fixtrail"
# Codes from the step before and after the current one are accepted, for
# clocks up to 30 seconds apart (RFC 6238 section 5.2 recommends one step).
VALID_WINDOW = 1


class TwoFactorError(Exception):
    """A code was wrong or two-factor is not in the state an action needs."""


def has_two_factor(user) -> bool:
    """Tell whether the user signs in with a code too (one query)."""
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def two_factor_required(user) -> bool:
    """Tell whether an organization of the user requires two-factor (one query)."""
    return OrganizationPolicy.objects.filter(
        require_two_factor=True, organization__memberships__user=user
    ).exists()


def begin_enrollment(user) -> TOTPDevice:
    """Return the user's unconfirmed device, making one with a new secret.

    Raises TwoFactorError when two-factor is already on.
    """
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32()}
    )
    if device.is_confirmed:
        raise TwoFactorError("Two-factor authentication is already on.")
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.email, issuer_name=ISSUER
    )


def _accept_totp(device: TOTPDevice, code: str) -> bool:
    totp = pyotp.TOTP(device.secret)
    now = timezone.now()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        at = now.timestamp() + offset * totp.interval
        step = int(at // totp.interval)
        if step > device.last_step and totp.at(at) == code:
            # A conditional update, so two requests with one code cannot
            # both pass.
            updated = TOTPDevice.objects.filter(
                pk=device.pk, last_step__lt=step
            ).update(last_step=step)
            return updated == 1
    return False


def confirm_enrollment(device: TOTPDevice, code: str) -> list[str]:
    """Turn two-factor on if ``code`` is right; return new recovery codes.

    Raises TwoFactorError for a wrong code.
    """
    if not _accept_totp(device, code.strip().replace(" ", "")):
        raise TwoFactorError("That code is not right; check the app and try again.")
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    return RecoveryCode.issue(device.user)


def verify_second_factor(user, code: str) -> bool:
    """Accept a current TOTP code or an unused recovery code (used up here)."""
    code = code.strip().replace(" ", "")
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return False
    if code.isdigit() and len(code) == 6:
        return _accept_totp(device, code)
    updated = RecoveryCode.objects.filter(
        user=user, code_hash=hash_recovery_code(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return updated == 1


def remaining_recovery_codes(user) -> int:
    return user.recovery_codes.filter(used_at__isnull=True).count()


def disable_two_factor(user) -> None:
    """Remove the user's device and recovery codes.

    Raises TwoFactorError when an organization of the user requires it.
    """
    if two_factor_required(user):
        raise TwoFactorError(
            "An organization you belong to requires two-factor authentication."
        )
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


def members_without_two_factor(organization) -> list:
    """Return the organization's members who have not turned two-factor on."""
    return [
        m.user
        for m in organization.memberships.select_related("user").filter(
            ~Q(user__totp__confirmed_at__isnull=False)
        )
    ]


def qr_svg(uri: str) -> SafeString:
    """Return an inline SVG QR code of ``uri``."""
    import segno

    # segno's markup is rectangles and a path: the URI is encoded in the
    # modules' pattern, never written into the markup as text.
    return mark_safe(segno.make(uri, error="m").svg_inline(scale=5))  # noqa: S308
