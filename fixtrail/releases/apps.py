from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "fixtrail.releases"
    label = "releases"

    def ready(self) -> None:
        # Registers the job that reads a range of commits from a repository.
        # Registers the merge-request jobs with the job runner.
        from fixtrail.releases import (
            commits,  # noqa: F401
            merge_request_jobs,  # noqa: F401
        )
