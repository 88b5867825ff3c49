"""Sign in with GitHub (github.com, or GitHub Enterprise Server at
FIXTRAIL_GITHUB_URL) through django-allauth's GitHub provider.

allauth's adapter fixes its URLs when it is imported; this one reads them
from the settings on each request, so the address can come from the
environment (and a test's stand-in). GitHub is not OpenID Connect: the
"groups" the membership rules (fixtrail.security.sso) match are the
person's GitHub organizations (``acme``) and teams (``acme/platform``),
read with the sign-in's token from ``GET /user/orgs`` and ``/user/teams``
(scope ``read:org``). FIXTRAIL_GITHUB_ORGS, when set, admits only members
of those organizations.
"""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2CallbackView,
    OAuth2LoginView,
)
from django.conf import settings

from fixtrail.lib import outbound

PUBLIC_WEB_URL = "https://github.com"
PUBLIC_API_URL = "https://api.github.com"
# Pages of organizations and teams read at sign-in (100 each).
MAX_PAGES = 5


def api_url() -> str:
    """Return the REST API root of the configured GitHub."""
    web = settings.GITHUB_URL.rstrip("/")
    return PUBLIC_API_URL if web == PUBLIC_WEB_URL else f"{web}/api/v3"


class GitHubAdapter(GitHubOAuth2Adapter):
    """allauth's GitHub adapter with its addresses read from the settings."""

    @property
    def web_url(self) -> str:
        return settings.GITHUB_URL.rstrip("/")

    @property
    def api_url(self) -> str:
        return api_url()

    @property
    def access_token_url(self) -> str:
        return f"{self.web_url}/login/oauth/access_token"

    @property
    def authorize_url(self) -> str:
        return f"{self.web_url}/login/oauth/authorize"

    @property
    def profile_url(self) -> str:
        return f"{self.api_url}/user"

    @property
    def emails_url(self) -> str:
        return f"{self.api_url}/user/emails"


oauth2_login = OAuth2LoginView.adapter_view(GitHubAdapter)
oauth2_callback = OAuth2CallbackView.adapter_view(GitHubAdapter)


def _pages(path: str, token: str) -> list[Any]:
    items: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        response = outbound.request(
            "GET",
            f"{api_url()}{path}",
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/vnd.github+json",
            },
            params={"per_page": "100", "page": str(page)},
        )
        response.raise_for_status()
        batch = response.json()
        if not isinstance(batch, list):
            break
        items += batch
        if len(batch) < 100:
            break
    return items


def groups_of(token: str) -> list[str]:
    """Return the person's organizations and teams as ``org`` and
    ``org/team`` names, lowercase."""
    groups = {
        str(org.get("login", "")).lower()
        for org in _pages("/user/orgs", token)
        if isinstance(org, dict)
    }
    for team in _pages("/user/teams", token):
        if isinstance(team, dict) and isinstance(team.get("organization"), dict):
            org = str(team["organization"].get("login", "")).lower()
            groups.add(f"{org}/{str(team.get('slug', '')).lower()}")
    groups.discard("")
    return sorted(groups)


def allowed_orgs() -> set[str]:
    """The GitHub organizations whose members may sign in (empty: anyone)."""
    return {o.strip().lower() for o in settings.GITHUB_ORGS.split(",") if o.strip()}
