"""The alert jobs and periodic tasks the worker runs (fixtrail.jobs)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from fixtrail.alerts import delivery, digests, evaluate
from fixtrail.jobs.registry import handler, periodic

# Digests are due once a day or week per person; checking every 15 minutes
# sends each within a quarter hour of its time.
DIGEST_SECONDS = 15 * 60


@handler(delivery.DELIVER)
def deliver(payload: dict) -> dict:
    """Send one alert delivery (see delivery.deliver)."""
    return delivery.deliver(payload)


@handler(digests.SEND_DIGEST)
def send_digest(payload: dict) -> dict:
    """Send one person's digest e-mail."""
    return digests.send_digest(payload)


@periodic("alerts.evaluate", seconds=settings.ALERTS_EVALUATE_SECONDS)
def evaluate_rules(now: dt.datetime) -> int:
    """Fire the rules whose triggers happened since the last run."""
    return evaluate.evaluate(now)


@periodic("alerts.digests", seconds=DIGEST_SECONDS)
def queue_digests(now: dt.datetime) -> int:
    """Queue the digests that are due."""
    return digests.queue_due_digests(now)
