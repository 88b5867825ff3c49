"""``fixtrail import sentry --url URL --token TOKEN --org SLUG [--issues] [--dry-run]``:
copy an organization from Sentry, GlitchTip or another Fixtrail, printing
one JSON line of counts at the end."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.adoption.sentry_api import SentryAPI, SourceError
from fixtrail.adoption.sentry_import import apply_organization, read_organization


class Command(BaseCommand):
    help = "Import an organization from another server."

    def add_arguments(self, parser: CommandParser) -> None:
        sources = parser.add_subparsers(dest="source", required=True)
        sentry = sources.add_parser(
            "sentry",
            help="read it through Sentry's web API (sentry.io, self-hosted "
            "Sentry, GlitchTip, Fixtrail)",
        )
        sentry.add_argument("--url", required=True, help="e.g. https://sentry.io")
        sentry.add_argument(
            "--token", required=True, help="an auth token that can read the org"
        )
        sentry.add_argument("--org", required=True, help="the organization's slug")
        sentry.add_argument(
            "--issues",
            action="store_true",
            help="also import unresolved and ignored issues",
        )
        sentry.add_argument(
            "--dry-run", action="store_true", help="print the counts, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        api = SentryAPI(options["url"], options["token"])
        try:
            source = read_organization(api, options["org"], issues=options["issues"])
        except SourceError as exc:
            raise CommandError(exc.message) from None
        summary = apply_organization(
            source, issues=options["issues"], dry_run=options["dry_run"]
        )
        self.stdout.write(json.dumps(summary.as_dict()))
