"""``fixtrail grouping``: preview or apply a project's move to a newer
grouping version."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.digest.grouping import LATEST_GROUPING_VERSION
from fixtrail.issues.regrouping import RegroupError, apply_upgrade, preview_upgrade
from fixtrail.projects.models import Project


class Command(BaseCommand):
    help = (
        "Show what moving a project to a newer grouping version would merge "
        "and split on its last 1,000 events (preview ORG PROJECT), or move it "
        "(upgrade ORG PROJECT). --version defaults to the newest; upgrade "
        "merges the issues the new version puts together unless --no-merge."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        for name in ("preview", "upgrade"):
            sub = commands.add_parser(name)
            sub.add_argument("org")
            sub.add_argument("project")
            sub.add_argument("--version", type=int, default=LATEST_GROUPING_VERSION)
            if name == "upgrade":
                sub.add_argument("--no-merge", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(
            organization__slug=options["org"], slug=options["project"]
        ).first()
        if project is None:
            raise CommandError(f"no project {options['org']}/{options['project']}")
        version = int(options["version"])
        try:
            if options["command"] == "preview":
                result = preview_upgrade(project, version)
            else:
                result = apply_upgrade(
                    project,
                    version,
                    user=None,
                    now=dt.datetime.now(dt.UTC),
                    merge=not options["no_merge"],
                )
        except RegroupError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(result.to_dict()))
