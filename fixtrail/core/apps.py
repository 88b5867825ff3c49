from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fixtrail.core"
    label = "core"

    def ready(self) -> None:
        from fixtrail.core import checks  # noqa: F401  (registers the checks)
