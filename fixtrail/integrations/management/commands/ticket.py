"""``fixtrail ticket``: file or link a ticket for an issue."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fixtrail.integrations import tickets
from fixtrail.issues.models import Issue
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import LEASE, run_job


class Command(BaseCommand):
    help = (
        "File a ticket for an issue (by short id, e.g. BACKEND-1A) in a "
        "connected tracker and print its URL, or link an existing ticket. "
        "Running `create` again prints the same ticket."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="file a ticket; prints its URL")
        create.add_argument("short_id")
        create.add_argument("--integration", default="")
        create.add_argument("--org", default="")
        create.add_argument("--title", default="")
        create.add_argument(
            "--key",
            default="cli",
            help="idempotency key: the same key never files a second ticket",
        )
        link = sub.add_parser("link", help="link an existing ticket")
        link.add_argument("short_id")
        link.add_argument("ticket", help="the ticket's URL, number or key")
        link.add_argument("--integration", default="")
        link.add_argument("--org", default="")

    def handle(self, *args: object, **options: object) -> None:
        issue = _find_issue(options["short_id"], options["org"])
        try:
            integration = tickets.integration_for(issue, options["integration"])
            if options["action"] == "link":
                link = tickets.link_ticket(
                    issue, integration, options["ticket"], user=None
                )
                self.stdout.write(link.url or link.label)
                return
            draft = tickets.draft_ticket(issue, integration)
            if options["title"]:
                draft.title = options["title"]
            job = tickets.request_ticket(
                issue, integration, key=options["key"], user=None, draft=draft
            )
        except tickets.TicketError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(_run(job))


def _find_issue(short_id: str, org_slug: str) -> Issue:
    prefix, _, number = short_id.rpartition("-")
    try:
        short = int(number, 36)
    except ValueError:
        raise CommandError(f"{short_id!r} is not a short id like BACKEND-1A") from None
    issues = Issue.objects.select_related("project__organization").filter(
        project__slug__iexact=prefix, short_id=short
    )
    if org_slug:
        issues = issues.filter(project__organization__slug=org_slug)
    found = list(issues[:2])
    if not found:
        raise CommandError(f"no issue {short_id}")
    if len(found) > 1:
        raise CommandError(f"{short_id} exists in several organizations: add --org")
    return found[0]


def _run(job: Job) -> str:
    """Run the ticket job here, unless it already ran or a worker holds it,
    and return the ticket's URL."""
    now = timezone.now()
    # The same conditional claim as the runner's: a worker that took the
    # job first keeps it.
    claimed = Job.objects.filter(pk=job.pk, state=Job.State.PENDING).update(
        state=Job.State.RUNNING, lease_until=now + LEASE
    )
    if claimed:
        run_job(job, now)
    job.refresh_from_db()
    if job.state == Job.State.DONE:
        return job.result["url"]
    if job.state == Job.State.FAILED:
        raise CommandError(f"the ticket was not filed: {job.last_error}")
    raise CommandError(
        f"the ticket is not filed yet ({job.last_error or job.state}); "
        "the worker will retry it"
    )
