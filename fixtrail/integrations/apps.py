from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "fixtrail.integrations"
    label = "integrations"

    def ready(self) -> None:
        # Registers the ticket jobs and periodic tasks with the job runner.
        from fixtrail.integrations import tasks  # noqa: F401
