"""``fixtrail jobs``: see, retry and run outbound jobs."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import retry_now, run_until_idle


class Command(BaseCommand):
    help = (
        "List outbound jobs (alerts, tickets, merge-request notes), retry a "
        "failed one, or run the due ones now instead of waiting for the worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="one JSON line per job, newest first")
        listing.add_argument("--state", choices=Job.State.values)
        listing.add_argument("--limit", type=int, default=50)
        retry = sub.add_parser("retry", help="run a failed or waiting job again")
        retry.add_argument("id", type=int)
        sub.add_parser("run", help="run every due job now")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "list":
            jobs = Job.objects.order_by("-pk")
            if options["state"]:
                jobs = jobs.filter(state=options["state"])
            for job in jobs[: options["limit"]]:
                self.stdout.write(json.dumps(_row(job)))
        elif action == "retry":
            job = Job.objects.filter(pk=options["id"]).first()
            if job is None:
                raise CommandError(f"no job {options['id']}")
            retry_now(job)
            self.stdout.write(f"job {job.pk} will run again")
        else:
            self.stdout.write(f"ran {run_until_idle()} jobs")


def _row(job: Job) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "owner": job.owner,
        "state": job.state,
        "attempts": job.attempts,
        "run_after": job.run_after.isoformat(),
        "last_error": job.last_error,
    }
