"""Durable, at-least-once queue between ingest and digest.

Callers use ``open_queue(settings.QUEUE_URL)`` and the ``Queue`` methods;
see fixtrail.queue.base for the contract and the backend modules for how
each store keeps it.
"""

from __future__ import annotations

from fixtrail.queue.base import (
    MAX_READ_BATCH,
    VISIBILITY_TIMEOUT_SECONDS,
    Backlog,
    Message,
    Queue,
    QueueUnavailable,
    open_queue,
    read_backlog,
)

__all__ = [
    "MAX_READ_BATCH",
    "VISIBILITY_TIMEOUT_SECONDS",
    "Backlog",
    "Message",
    "Queue",
    "QueueUnavailable",
    "open_queue",
    "read_backlog",
]
