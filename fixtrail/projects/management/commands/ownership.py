"""``fixtrail ownership``: show or set a project's ownership rules and
CODEOWNERS file from the command line (CI, a repository hook)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.projects.models import Project, ProjectOwnership
from fixtrail.projects.owners import OwnershipError, ownership_of, save_ownership

# A CODEOWNERS file of a very large monorepo is well under this.
MAX_FILE_BYTES = 1024 * 1024


def _read(path: str) -> str:
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1) if path == "-" else None
    if data is None:
        try:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CommandError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text") from None


class Command(BaseCommand):
    help = (
        "Show a project's ownership rules (show ORG PROJECT), replace them "
        "(set ORG PROJECT --rules FILE), or load a CODEOWNERS file "
        "(codeowners ORG PROJECT FILE). FILE may be - for standard input. "
        "Bad rules are refused with their line and reason, and nothing is "
        "changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        show = commands.add_parser("show", help="print the settings as JSON")
        show.add_argument("org")
        show.add_argument("project")
        put = commands.add_parser("set", help="replace rules and settings")
        put.add_argument("org")
        put.add_argument("project")
        put.add_argument("--rules", help="file of ownership rules, or -")
        put.add_argument(
            "--auto-assign", choices=["on", "off"], help="assign new issues"
        )
        put.add_argument("--fallthrough", choices=["on", "off"])
        owners = commands.add_parser("codeowners", help="load a CODEOWNERS file")
        owners.add_argument("org")
        owners.add_argument("project")
        owners.add_argument("file", help="the CODEOWNERS file, or -")
        owners.add_argument(
            "--source", default="cli", help="where it came from (shown on the page)"
        )

    def handle(self, *args: object, **options: object) -> None:
        project = (
            Project.objects.select_related("organization")
            .filter(organization__slug=options["org"], slug=options["project"])
            .first()
        )
        if project is None:
            raise CommandError(f"no project {options['org']}/{options['project']}")
        command = options["command"]
        if command == "show":
            self._show(ownership_of(project))
            return
        now = dt.datetime.now(dt.UTC)
        try:
            if command == "set":
                auto = options.get("auto_assign")
                fall = options.get("fallthrough")
                saved = save_ownership(
                    project,
                    now=now,
                    raw=_read(options["rules"]) if options.get("rules") else None,
                    auto_assignment={"on": "issue_owner", "off": "off"}.get(auto)
                    if auto
                    else None,
                    fallthrough=fall == "on" if fall else None,
                )
            else:
                saved = save_ownership(
                    project,
                    now=now,
                    codeowners=_read(options["file"]),
                    codeowners_source=str(options["source"]),
                )
        except OwnershipError as exc:
            raise CommandError(exc.message) from None
        for warning in saved.warnings:
            self.stderr.write(f"warning: {warning}")
        self._show(saved.ownership)

    def _show(self, ownership: ProjectOwnership) -> None:
        self.stdout.write(
            json.dumps(
                {
                    "raw": ownership.raw,
                    "codeowners": ownership.codeowners,
                    "codeowners_source": ownership.codeowners_source,
                    "fallthrough": ownership.fallthrough,
                    "auto_assignment": ownership.auto_assignment,
                },
                indent=2,
            )
        )
