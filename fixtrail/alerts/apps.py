from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "fixtrail.alerts"
    label = "alerts"

    def ready(self) -> None:
        # Registers the alert jobs and periodic tasks, and the default rule
        # of new projects.
        from fixtrail.alerts import signals, tasks  # noqa: F401
