"""``fixtrail forward --project ORG/PROJECT --to DSN`` (or ``--off``, or
neither to show where it stands): send everything a project accepts on to
another Sentry-compatible server as well. Prints one JSON line."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.adoption import forwarding
from fixtrail.lib.dsn import DSNError
from fixtrail.projects.models import Project


class Command(BaseCommand):
    help = "Also forward a project's events to another server's DSN."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, metavar="ORG/PROJECT")
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--to", metavar="DSN", help="the other server's DSN")
        choice.add_argument("--off", action="store_true", help="stop forwarding")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.by_path(options["project"])
        if project is None:
            raise CommandError(
                f"no project {options['project']!r} (write it as ORG/PROJECT)"
            )
        if options["off"]:
            stopped = forwarding.stop_forwarding(project)
            self.stdout.write(json.dumps({"forwarding": None, "stopped": stopped}))
            return
        if options["to"]:
            try:
                forwarding.set_forwarding(project, options["to"])
            except DSNError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(
            json.dumps({"forwarding": forwarding.status(project)}, default=str)
        )
