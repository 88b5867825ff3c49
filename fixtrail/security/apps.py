from __future__ import annotations

from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "fixtrail.security"
    label = "security"

    def ready(self) -> None:
        # Connects the session register and the single sign-on membership
        # grants to the sign-in signals, and registers the system checks.
        from fixtrail.security import checks, sessions, sso  # noqa: F401
