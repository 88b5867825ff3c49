"""Invitations: the e-mail that lets a person added by an owner choose
their password, through the same signed link as a password reset."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from fixtrail.accounts.models import Organization, User


def password_link(user: User) -> str:
    """Return the absolute URL where ``user`` sets a new password.

    The token is Django's password-reset token: it stops working once the
    password changes, after PASSWORD_RESET_TIMEOUT, or on the next login.
    """
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", args=[uid, token])
    return f"{settings.BASE_URL}{path}"


def send_invitation(user: User, organization: Organization, invited_by: User) -> None:
    """E-mail ``user`` a link to join ``organization`` and set a password."""
    context = {
        "organization": organization,
        "invited_by": invited_by,
        "link": password_link(user),
    }
    subject = render_to_string("accounts/emails/invitation-subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("accounts/emails/invitation-body.txt", context),
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("accounts/emails/invitation-body.html", context), "text/html"
    )
    message.send()
