from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "fixtrail.releases"
    label = "releases"

    def ready(self) -> None:
        # Registers the merge-request jobs with the job runner.
        from fixtrail.releases import merge_request_jobs  # noqa: F401
