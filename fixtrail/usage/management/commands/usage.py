"""``fixtrail usage``: print the instance usage report."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fixtrail.usage.report import MAX_DAYS, usage_report


class Command(BaseCommand):
    help = (
        "Print how this instance is used: projects receiving events, events "
        "and issues per day, tickets, fixes by commit, merge-request notes, "
        "active users and feature use. Computed locally; nothing is sent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="window (1-366)")
        parser.add_argument("--json", action="store_true", help="one JSON document")

    def handle(self, *args: object, **options: object) -> None:
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        report = usage_report(timezone.now(), days)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        for line in _lines(report):
            self.stdout.write(line)


def _lines(report: dict) -> list[str]:
    projects = report["projects"]
    events = sum(d["events"] for d in report["per_day"])
    issues = sum(d["issues"] for d in report["per_day"])
    lines = [
        f"Usage over the last {report['days']} days (since {report['since']})",
        f"Projects: {projects['total']}, ingestion enabled "
        f"{projects['ingestion_enabled']}, receiving events "
        f"{projects['receiving_events']}",
        f"Events: {events}; new issues: {issues}",
        "Tickets created from errors: "
        + (
            ", ".join(f"{t['tracker']} {t['count']}" for t in report["tickets_created"])
            or "none"
        ),
        f"Issues resolved by commits: {report['issues_resolved_by_commits']}",
        f"Merge-request notes posted: {report['merge_request_notes']}",
        f"Active users: {report['users']['active']} of {report['users']['total']}",
        "Features:",
    ]
    lines += [
        f"  {f['label']}: {f['uses']} uses in {f['organizations']} organization(s)"
        for f in report["features"]
    ]
    return lines
