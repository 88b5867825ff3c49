"""Ingest's side of the queue: one handle per process, one put per request.

The queue URL is read from settings at each call (tests change it), and a
handle is kept per URL: opening one is cheap but not free, and both backends
are safe to share between threads.
"""

from __future__ import annotations

import logging
import threading
import time

from fixtrail.ingest.exceptions import RateLimited, Unavailable
from fixtrail.queue import Queue, QueueUnavailable, open_queue

logger = logging.getLogger(__name__)

# How often a process re-reads the backlog to enforce the queue's bound.
# Counting costs a few milliseconds per 100,000 waiting messages on SQLite
# (one call on Redis); once a second keeps it off the hot path, at the price
# of overshooting the bound by at most a second of one process's intake.
BACKLOG_CHECK_SECONDS = 1.0
# What a full queue tells SDKs: digest drains thousands of items a second,
# so a minute is plenty for room to come back.
QUEUE_FULL_RETRY_SECONDS = 60

# Per queue URL: (monotonic time of the last count, the backlog then plus
# what this process queued since).
_backlog: dict[str, tuple[float, int]] = {}

_queues: dict[str, Queue] = {}
_queues_lock = threading.Lock()


def ingest_queue() -> Queue:
    """Return this process's handle on the events queue named in settings."""
    from django.conf import settings

    url = settings.QUEUE_URL
    queue = _queues.get(url)
    if queue is None:
        with _queues_lock:
            queue = _queues.get(url)
            if queue is None:
                queue = _queues[url] = open_queue(url)
    return queue


def check_room(count: int) -> None:
    """Raise RateLimited (429) when ``count`` more items would take the queue
    past FIXTRAIL_QUEUE_MAX_ITEMS, so nothing is answered 200 that the
    queue cannot keep; Unavailable (503) when its backlog cannot be read."""
    from django.conf import settings

    bound = settings.QUEUE_MAX_ITEMS
    if bound <= 0 or count <= 0:
        return
    url = settings.QUEUE_URL
    now = time.monotonic()
    checked, size = _backlog.get(url, (float("-inf"), 0))
    if now - checked >= BACKLOG_CHECK_SECONDS:
        try:
            size = ingest_queue().backlog().size
        except QueueUnavailable as exc:
            logger.warning("queue unavailable, answering 503: %s", exc.message)
            raise Unavailable(
                "events cannot be stored right now; retry later"
            ) from None
        checked = now
    if size + count > bound:
        _backlog[url] = (checked, size)
        raise RateLimited(
            f"the server's event queue is full ({size} items wait for digest); "
            "retry later",
            QUEUE_FULL_RETRY_SECONDS,
            "organization",
            "queue_full",
        )
    _backlog[url] = (checked, size + count)


def forget_backlog() -> None:
    """Drop the remembered backlog counts (tests change queues under us)."""
    _backlog.clear()


def enqueue(bodies: list[bytes]) -> None:
    """Put ``bodies`` in the queue in one durable step.

    Raises Unavailable (503) when the queue cannot take them, so the SDK
    keeps the items and retries; nothing is answered 200 unless stored.
    """
    if not bodies:
        return
    try:
        ingest_queue().put_many(bodies)
    except QueueUnavailable as exc:
        logger.warning("queue unavailable, answering 503: %s", exc.message)
        raise Unavailable("the event queue is unavailable; retry later") from None
