from __future__ import annotations

from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "fixtrail.security"
    label = "security"

    def ready(self) -> None:
        # Connects the session register and the single sign-on membership
        # grants to the sign-in signals, and registers the system checks.
        from allauth.socialaccount.providers.github.provider import GitHubProvider

        from fixtrail.security import checks, github, sessions, sso  # noqa: F401

        # allauth's GitHub provider builds its redirect through its own
        # adapter, whose addresses are fixed at import; ours reads
        # FIXTRAIL_GITHUB_URL (GitHub Enterprise) when it is used.
        GitHubProvider.oauth2_adapter_class = github.GitHubAdapter
