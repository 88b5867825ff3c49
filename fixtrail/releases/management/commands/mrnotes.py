"""``fixtrail mrnotes``: write the feedback notes on a release's merge
requests now, or see where they stand."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.releases.feedback import (
    last_note_job,
    merge_requests_of_release,
    request_release_feedback,
)
from fixtrail.releases.models import MergeRequest, Release


class Command(BaseCommand):
    help = (
        "Write (or bring up to date) Fixtrail's note on each merge request of "
        "a release, listing the issues the release brought, without waiting "
        "for the watch window after a deploy; or list those merge requests "
        "with the state of their note. The worker writes the queued notes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("send", "queue the notes on the release's merge requests"),
            ("list", "one JSON line per merge request of the release"),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("--org", required=True, help="organization slug")
            action.add_argument("--release", required=True, help="release version")
            if name == "send":
                action.add_argument(
                    "--environment",
                    default="",
                    help="list only issues seen in this environment",
                )

    def handle(self, *args: object, **options: object) -> None:
        release = Release.objects.filter(
            organization__slug=options["org"], version=options["release"]
        ).first()
        if release is None:
            raise CommandError(
                f"no release {options['release']!r} in organization {options['org']!r}"
            )
        if options["action"] == "list":
            for merge_request in merge_requests_of_release(release):
                self.stdout.write(json.dumps(_row(merge_request)))
            return
        queued = request_release_feedback(release, options["environment"])
        for merge_request, reason in queued.skipped:
            self.stderr.write(f"skipped {merge_request}: {reason}")
        self.stdout.write(
            f"queued {len(queued.jobs)} notes for release {release.version} "
            f"(jobs {', '.join(str(j.pk) for j in queued.jobs) or 'none'}); the "
            "worker writes them, or run `fixtrail jobs run`"
        )


def _row(merge_request: MergeRequest) -> dict:
    job = last_note_job(merge_request)
    sent = merge_request.feedback_sent_at
    return {
        "repository": merge_request.repository.name,
        "number": merge_request.number,
        "title": merge_request.title,
        "url": merge_request.url,
        "note_id": merge_request.feedback_note_id,
        "note_sent_at": sent.isoformat() if sent else None,
        "note_job": job.state if job else None,
        "note_error": job.last_error if job else "",
    }
