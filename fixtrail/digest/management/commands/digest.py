"""``fixtrail manage digest``: digest everything queued now, then exit."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from fixtrail.digest.worker import default_consumer_name, digest_stream
from fixtrail.queue import open_queue


class Command(BaseCommand):
    help = (
        "Digest the items waiting in the queue, batch by batch, until it is "
        "empty. Use it where no worker runs (tests, one-off imports); "
        "`fixtrail worker` does the same continuously."
    )

    def handle(self, *args: object, **options: object) -> None:
        queue = open_queue(settings.QUEUE_URL)
        try:
            total = digest_stream(queue, default_consumer_name())
        finally:
            queue.close()
        self.stdout.write(f"Digested {total} queued items.")
