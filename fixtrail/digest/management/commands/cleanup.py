"""``fixtrail manage cleanup``: apply retention and expire ignores now."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand

from fixtrail.events.retention import enforce_retention, prepare_partitions
from fixtrail.issues.actions import escalate_expired_ignores


class Command(BaseCommand):
    help = (
        "Delete events past each project's retention age or count, bring "
        "back ignored issues whose time is up, and create the coming days' "
        "event partitions (PostgreSQL). The worker runs this every few "
        "minutes; run it by hand after lowering a project's limits."
    )

    def handle(self, *args: object, **options: object) -> None:
        now = dt.datetime.now(dt.UTC)
        prepare_partitions(now)
        result = enforce_retention(now)
        escalated = escalate_expired_ignores(now)
        self.stdout.write(
            f"Dropped {result.partitions_dropped} partitions, deleted "
            f"{result.events_deleted} events and {result.attachments_deleted} "
            f"attachments; {escalated} ignored issues came back."
        )
