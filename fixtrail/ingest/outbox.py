"""Ingest's side of the queue: one handle per process, one put per request.

The queue URL is read from settings at each call (tests change it), and a
handle is kept per URL: opening one is cheap but not free, and both backends
are safe to share between threads.
"""

from __future__ import annotations

import logging
import threading

from fixtrail.ingest.exceptions import Unavailable
from fixtrail.queue import Queue, QueueUnavailable, open_queue

logger = logging.getLogger(__name__)

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
