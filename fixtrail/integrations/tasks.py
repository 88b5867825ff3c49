"""The integration jobs and periodic tasks the job runner knows.

Tracker errors become the runner's: a permanent one (bad token, unknown
ticket) fails the job with its message, any other is retried, after the
tracker's Retry-After when it gave one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from fixtrail.integrations import connections, sync, tickets
from fixtrail.integrations.base import TrackerError
from fixtrail.integrations.models import Integration
from fixtrail.issues.models import Issue
from fixtrail.jobs.registry import PermanentFailure, RetryLater, handler, periodic

# How often new activities are turned into ticket work, in seconds: a
# closed ticket should follow a resolution within moments.
FOLLOW_SECONDS = 10
# How often linked tickets are re-read in case a webhook was missed.
POLL_SECONDS = 300


def _translated(run: Callable[[], object]) -> object:
    try:
        return run()
    except TrackerError as exc:
        if exc.permanent:
            raise PermanentFailure(exc.message) from None
        delay = dt.timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise RetryLater(exc.message, delay) from None
    except (Issue.DoesNotExist, Integration.DoesNotExist):
        raise PermanentFailure("the issue or the tracker was deleted") from None


@handler(tickets.CREATE_JOB)
def create_ticket(payload: dict) -> object:
    return _translated(lambda: tickets.file_ticket(payload))


@handler(tickets.REFRESH_JOB)
def refresh_ticket(payload: dict) -> object:
    return _translated(lambda: tickets.refresh_link(payload["link"], timezone.now()))


@handler(sync.PUSH_JOB)
def push_state(payload: dict) -> object:
    return _translated(lambda: sync.push_state(payload, timezone.now()))


@handler(connections.CHECK_JOB)
def check(payload: dict) -> object:
    integration = Integration.objects.filter(pk=payload["integration"]).first()
    if integration is None:
        return None
    return _translated(
        lambda: {"found": connections.check_integration(integration, timezone.now())}
    )


@periodic("integrations.follow_activity", seconds=FOLLOW_SECONDS)
def follow_activity(now: dt.datetime) -> object:
    return sync.follow_activity(now)


@periodic("integrations.poll_tickets", seconds=POLL_SECONDS)
def poll_tickets(now: dt.datetime) -> object:
    return sync.poll_links(now)
