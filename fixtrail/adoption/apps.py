from __future__ import annotations

from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "fixtrail.adoption"
    label = "adoption"

    def ready(self) -> None:
        # Registers the import and forward jobs with the job runner.
        from fixtrail.adoption import forwarding, jobs  # noqa: F401
