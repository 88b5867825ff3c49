"""``fixtrail integration``: connect, list, test and remove trackers."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fixtrail.accounts.models import Organization
from fixtrail.integrations import connections
from fixtrail.integrations.base import TrackerError
from fixtrail.integrations.models import Integration


class Command(BaseCommand):
    help = (
        "Connect a GitLab, GitHub or Jira tracker to an organization (or one "
        "project), list the connected trackers, test or remove one. `add` "
        "prints the webhook URL and secret to set on the tracker's side."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="connect a tracker")
        kinds = add.add_subparsers(dest="kind", required=True)
        for kind in ("gitlab", "github", "jira"):
            p = kinds.add_parser(kind)
            p.add_argument("--org", required=True)
            p.add_argument("--project", default="")
            p.add_argument("--name", default="")
            p.add_argument("--token", required=True)
            p.add_argument("--labels", default="", help="comma-separated")
            p.add_argument("--assignee", default="")
            p.add_argument(
                "--check", action="store_true", help="test the connection now"
            )
            if kind == "gitlab":
                p.add_argument("--url", required=True)
                p.add_argument("--target", required=True, help="GROUP/PROJECT")
            elif kind == "github":
                p.add_argument("--repo", required=True, help="OWNER/REPO")
                p.add_argument("--api-url", default="", help="GitHub Enterprise API")
            else:
                p.add_argument("--site", required=True)
                p.add_argument("--email", required=True)
                p.add_argument("--project-key", required=True)
                p.add_argument("--issue-type", default="Bug")
        listing = sub.add_parser("list", help="one JSON line per tracker")
        listing.add_argument("--org", default="")
        for name in ("test", "remove"):
            p = sub.add_parser(name, help=f"{name} a tracker")
            p.add_argument("name")
            p.add_argument("--org", required=True)

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            integrations = Integration.objects.select_related(
                "organization", "project"
            ).order_by("organization__slug", "name")
            if options["org"]:
                integrations = integrations.filter(organization__slug=options["org"])
            for integration in integrations:
                row = connections.integration_row(integration)
                row["organization"] = integration.organization.slug
                self.stdout.write(json.dumps(row, default=str))
        else:
            integration = Integration.objects.filter(
                organization__slug=options["org"], name=options["name"]
            ).first()
            if integration is None:
                raise CommandError(
                    f"no tracker {options['name']!r} in {options['org']}"
                )
            if action == "remove":
                integration.delete()
                self.stdout.write(f"removed {integration.name}")
            else:
                self.stdout.write(self._check(integration))

    def _add(self, options: dict) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organization {options['org']!r}")
        data = {
            key: options.get(key) or ""
            for key in (
                "name", "project", "token", "labels", "assignee", "url", "target",
                "repo", "api_url", "site", "email", "project_key", "issue_type",
            )
        }  # fmt: skip
        try:
            integration = connections.add_integration(
                org, options["kind"], data, user=None
            )
        except connections.IntegrationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            json.dumps(
                {
                    "name": integration.name,
                    "webhook_url": integration.webhook_url,
                    "webhook_secret": integration.webhook_secret,
                }
            )
        )
        if options["check"]:
            self.stderr.write(self._check(integration))

    def _check(self, integration: Integration) -> str:
        try:
            found = connections.check_integration(integration, timezone.now())
        except TrackerError as exc:
            raise CommandError(f"{integration.name}: {exc.message}") from None
        return f"{integration.name} works: {found}"
