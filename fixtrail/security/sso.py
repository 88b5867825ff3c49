"""Single sign-on through OpenID Connect or GitHub (django-allauth's
socialaccount; GitHub's specifics are in fixtrail.security.github).

Organization membership follows rules an operator writes in two settings,
each a comma-separated list of ``match=org-slug:role``::

    FIXTRAIL_SSO_DOMAIN_ORGS="example.com=acme:member"
    FIXTRAIL_SSO_GROUP_ORGS="platform=acme:admin,sre=ops:member"

A domain rule matches the e-mail address's domain (only an address the
provider marks verified); a group rule matches one of the values in the
groups claim (settings.SSO_GROUPS_CLAIM) of the ID token or userinfo.
Rules only add people: an existing membership keeps its role, and nobody
is removed when a claim goes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse

from fixtrail.accounts.models import Membership, Organization, Role
from fixtrail.lib.outbound import OutboundError
from fixtrail.security import github
from fixtrail.security.middleware import SSO_SESSION_KEY
from fixtrail.security.models import UserSession

# Where a GitHub sign-in keeps the person's organizations and teams.
GITHUB_GROUPS_KEY = "fixtrail_groups"


@dataclass(frozen=True)
class Rule:
    match: str
    org_slug: str
    role: str


def parse_rules(text: str, setting: str) -> list[Rule]:
    """Parse ``match=org:role,…``; raise ImproperlyConfigured naming ``setting``."""
    rules = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        match, _, target = item.partition("=")
        org_slug, _, role = target.partition(":")
        role = role or Role.MEMBER
        if not match or not org_slug or role not in Role.values or role == Role.OWNER:
            raise ImproperlyConfigured(
                f"{setting}: {item!r} is not match=org-slug:role "
                "(role one of admin, member, viewer)"
            )
        rules.append(Rule(match.strip().lower(), org_slug.strip(), role))
    return rules


def grants_for(
    email: str | None,
    email_verified: bool,
    groups: list[str],
    domain_rules: list[Rule],
    group_rules: list[Rule],
) -> dict[str, str]:
    """Return {org slug: role} the claims grant; the higher role wins."""
    rank = {role: i for i, role in enumerate(reversed(Role.values))}
    grants: dict[str, str] = {}
    domain = email.rsplit("@", 1)[-1].lower() if email and email_verified else None
    wanted = {g.lower() for g in groups}
    matched = [r for r in domain_rules if r.match == domain]
    matched += [r for r in group_rules if r.match in wanted]
    for rule in matched:
        current = grants.get(rule.org_slug)
        if current is None or rank[rule.role] > rank[current]:
            grants[rule.org_slug] = rule.role
    return grants


def _claims(sociallogin) -> tuple[str | None, bool, list[str]]:
    data = sociallogin.account.extra_data or {}
    if sociallogin.account.provider == "github":
        # Only a verified address counts; GitHub lists them at /user/emails.
        verified = [a for a in sociallogin.email_addresses if a.verified]
        primary = next((a for a in verified if a.primary), None) or (
            verified[0] if verified else None
        )
        groups = data.get(GITHUB_GROUPS_KEY) or []
        return (primary.email if primary else None), primary is not None, groups
    merged = {**data.get("id_token", {}), **data.get("userinfo", {})}
    groups = merged.get(settings.SSO_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    verified = merged.get("email_verified") in (True, "true")
    return merged.get("email"), verified, [str(g) for g in groups]


def grant_memberships(user, sociallogin) -> list[Membership]:
    """Add the user to the organizations their claims match; return new ones."""
    grants = grants_for(
        *_claims(sociallogin),
        parse_rules(settings.SSO_DOMAIN_ORGS, "FIXTRAIL_SSO_DOMAIN_ORGS"),
        parse_rules(settings.SSO_GROUP_ORGS, "FIXTRAIL_SSO_GROUP_ORGS"),
    )
    created = []
    for org in Organization.objects.filter(slug__in=grants):
        membership, new = Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": grants[org.slug]}
        )
        if new:
            created.append(membership)
    return created


@receiver(user_logged_in, dispatch_uid="security.sso_logged_in")
def on_sso_login(sender, request, user, sociallogin=None, **kwargs) -> None:
    if sociallogin is None:
        return
    request.session[SSO_SESSION_KEY] = True
    UserSession.objects.filter(session_key=request.session.session_key).update(
        method=UserSession.Method.SSO
    )
    grant_memberships(user, sociallogin)


def providers() -> list[dict]:
    """Return the configured sign-on providers for the login page's buttons."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    github_apps = settings.SOCIALACCOUNT_PROVIDERS.get("github", {}).get("APPS", [])
    buttons = [{"id": "github", "name": "GitHub", "url": reverse("github_login")}]
    return (buttons if github_apps else []) + [
        {
            "id": app["provider_id"],
            "name": app["name"],
            "url": reverse(
                "openid_connect_login", kwargs={"provider_id": app["provider_id"]}
            ),
        }
        for app in apps
    ]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def sign_on_origins() -> list[str]:
    """Return the origins the configured sign-on buttons send people to."""
    configured = settings.SOCIALACCOUNT_PROVIDERS
    urls = [
        app.get("settings", {}).get("server_url", "")
        for app in configured.get("openid_connect", {}).get("APPS", [])
    ]
    if configured.get("github", {}).get("APPS"):
        urls.append(settings.GITHUB_URL)
    return sorted({origin for url in urls if (origin := _origin(url))})


def sign_in_options() -> dict:
    """Return the login page's context: SSO buttons, password form or not."""
    return {"sso_providers": providers(), "password_login": settings.PASSWORD_LOGIN}


class AccountAdapter(DefaultAccountAdapter):
    """allauth's local accounts: sign-up happens through Fixtrail's own pages."""

    def is_open_for_signup(self, request) -> bool:
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Let SSO create accounts unless the operator turned that off; read a
    GitHub sign-in's organizations and teams, and refuse people outside
    FIXTRAIL_GITHUB_ORGS."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return settings.SSO_SIGNUP

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.account.provider != "github":
            return
        import httpx  # only here: see fixtrail.lib.outbound.request

        try:
            groups = github.groups_of(sociallogin.token.token)
        except (OutboundError, httpx.HTTPError) as exc:
            self._refuse(request, f"GitHub did not list your organizations: {exc}")
        allowed = github.allowed_orgs()
        if allowed and not allowed & set(groups):
            names = ", ".join(sorted(allowed))
            self._refuse(
                request,
                f"Only members of the GitHub organization {names} may sign in here.",
            )
        sociallogin.account.extra_data[GITHUB_GROUPS_KEY] = groups

    @staticmethod
    def _refuse(request, message: str) -> None:
        messages.error(request, message)
        raise ImmediateHttpResponse(redirect("accounts:login"))
