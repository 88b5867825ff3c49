"""The durable queue interface that ingest writes to and digest reads from.

Delivery is at least once: a message stays in the queue until a consumer
acknowledges it, and a message that was read but not acknowledged within the
visibility timeout is handed out again, to any consumer. Consumers must
therefore be idempotent (digest is, on ``(project, event_id)``).

A typical round trip::

    queue = open_queue("sqlite:///var/lib/fixtrail/queue.sqlite3")
    queue.put_many([b"first", b"second"])  # durable once this returns
    messages = queue.read("digest-1", count=500, block_ms=1000)
    for message in messages:
        handle(message.body)
    queue.ack([message.id for message in messages])

Backends live in their own modules and are imported only when a URL asks
for them, so a SQLite-only install never loads the Redis client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

# Long enough for digest to handle a full batch (a few seconds at most on
# the reference 2-core machine) with a wide margin; a consumer that is still
# working when it runs out only causes duplicate work, which digest absorbs.
VISIBILITY_TIMEOUT_SECONDS = 60.0

# Upper bound on the messages one read() returns: digest writes a batch in
# one transaction, and batches past a few hundred events stop getting faster
# while memory per batch keeps growing (1 MiB events x 1000 = 1 GiB worst case).
MAX_READ_BATCH = 1000

# Queue names become part of a Redis key and a SQLite column value; keep them
# short and free of separators so keys stay readable and unambiguous.
MAX_NAME_LENGTH = 64
_NAME_PATTERN = re.compile(r"[a-z0-9_-]+")


class QueueUnavailable(Exception):
    """The queue cannot take or hand out messages right now.

    The message is meant for people: ingest shows it in logs and answers the
    SDK with a retryable error, so nothing accepted is ever silently dropped.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery of a queued body.

    ``id`` is opaque and only meaningful to ``ack`` of the same queue.
    ``deliveries`` counts hand-outs including this one, so it is 1 the first
    time and grows each time the visibility timeout expires without an ack.
    """

    id: str
    body: bytes
    deliveries: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """How much work is waiting: unacknowledged messages, in flight or not."""

    size: int
    oldest_age_seconds: float | None


class Queue(Protocol):
    """A named, durable, at-least-once queue of byte bodies."""

    def put_many(self, bodies: list[bytes]) -> None:
        """Append ``bodies``; they are durable when this returns.

        Raise QueueUnavailable when they cannot be taken (none or some may
        have been stored; callers retry, and consumers deduplicate).
        """

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        """Claim up to ``count`` messages for ``consumer``, oldest first.

        Wait up to ``block_ms`` milliseconds when nothing is available. No
        message is handed to two consumers within one visibility timeout.
        """

    def ack(self, ids: list[str]) -> None:
        """Remove the messages with these ids; unknown ids are ignored."""

    def backlog(self) -> Backlog:
        """Return the number and age of the unacknowledged messages."""

    def close(self) -> None:
        """Release connections; the queue must not be used afterwards."""


def open_queue(
    url: str,
    name: str = "events",
    *,
    visibility_timeout: float = VISIBILITY_TIMEOUT_SECONDS,
) -> Queue:
    """Open the queue ``name`` stored at ``url``.

    ``sqlite:///absolute/path/queue.sqlite3`` selects the SQLite file backend
    (add ``?synchronous=full`` to fsync every commit, see fixtrail.queue.sqlite).
    ``redis://host:port/db`` and ``rediss://`` (TLS) select Redis Streams.
    ``visibility_timeout`` is in seconds.

    Raise ValueError for an unknown scheme, a relative SQLite path or an
    invalid queue name. Opening does not touch the network; the first
    operation raises QueueUnavailable if the store cannot be reached.
    """
    validate_queue_name(name)
    if visibility_timeout <= 0:
        raise ValueError(
            f"visibility_timeout must be positive seconds, got {visibility_timeout!r}"
        )
    # Only the scheme is echoed in errors: the rest may hold a password.
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from fixtrail.queue.sqlite import SqliteQueue

        return SqliteQueue.from_url(url, name, visibility_timeout=visibility_timeout)
    if scheme in ("redis", "rediss"):
        from fixtrail.queue.redis import RedisQueue

        return RedisQueue(url, name, visibility_timeout=visibility_timeout)
    shown = repr(scheme) if scheme else "missing"
    raise ValueError(
        f"Unsupported queue URL scheme {shown}: expected sqlite:///absolute/path, "
        "redis://host:port/db or rediss://host:port/db"
    )


def validate_queue_name(name: str) -> None:
    """Raise ValueError unless ``name`` is 1-64 of ``a-z 0-9 _ -``."""
    if len(name) > MAX_NAME_LENGTH or not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"Invalid queue name {name[:MAX_NAME_LENGTH]!r}: use 1 to "
            f"{MAX_NAME_LENGTH} characters among a-z, 0-9, '_' and '-'"
        )


def check_read_arguments(count: int, block_ms: int) -> int:
    """Return ``count`` capped at MAX_READ_BATCH; raise ValueError below 1.

    A negative ``block_ms`` is also a ValueError. Backends call this so
    every backend treats read() arguments the same way.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if block_ms < 0:
        raise ValueError(f"block_ms must not be negative, got {block_ms}")
    return min(count, MAX_READ_BATCH)


def read_backlog(url: str, name: str = "events") -> Backlog:
    """Open the queue at ``url``, read its backlog and close it again.

    For status pages and probes. Raises QueueUnavailable like the queue does.
    """
    queue = open_queue(url, name)
    try:
        return queue.backlog()
    finally:
        queue.close()
