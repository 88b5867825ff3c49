"""System checks for the sign-in settings (``fixtrail check``).

Ids are in the 3xx range, kept for account security.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from fixtrail.security.sso import parse_rules


@checks.register(checks.Tags.security)
def check_sign_in(app_configs, **kwargs) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for name, value in (
        ("FIXTRAIL_SSO_DOMAIN_ORGS", settings.SSO_DOMAIN_ORGS),
        ("FIXTRAIL_SSO_GROUP_ORGS", settings.SSO_GROUP_ORGS),
    ):
        try:
            parse_rules(value, name)
        except ImproperlyConfigured as exc:
            found.append(
                checks.Error(
                    str(exc),
                    hint="Write rules as match=org-slug:role, comma-separated.",
                    id="fixtrail.E301",
                )
            )
    if not settings.PASSWORD_LOGIN and not settings.OIDC_SERVER_URL:
        found.append(
            checks.Warning(
                "FIXTRAIL_PASSWORD_LOGIN is off and no single sign-on provider "
                "is set, so nobody can sign in.",
                hint="Set FIXTRAIL_OIDC_SERVER_URL, or turn password sign-in on.",
                id="fixtrail.W301",
            )
        )
    if settings.OIDC_SERVER_URL and not settings.OIDC_CLIENT_ID:
        found.append(
            checks.Warning(
                "FIXTRAIL_OIDC_SERVER_URL is set without FIXTRAIL_OIDC_CLIENT_ID.",
                hint="Register Fixtrail with the provider and set its client id.",
                id="fixtrail.W302",
            )
        )
    return found
