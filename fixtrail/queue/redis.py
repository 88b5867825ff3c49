"""The Redis Streams queue backend, for several machines sharing one queue.

Each named queue is one stream, ``fixtrail:queue:<name>``, read through one
consumer group, ``fixtrail``. A message is one stream entry with a single
field ``b`` holding the body; its id (``1767225600125-0``) starts with the
Redis server's clock in milliseconds, which gives the backlog its age::

    XADD       fixtrail:queue:events * b <body>            put_many
    XAUTOCLAIM fixtrail:queue:events fixtrail <me> 60000 0-0   read: take over
    XREADGROUP GROUP fixtrail <me> COUNT n STREAMS ... >        read: new
    XACK, then XDEL of each entry it acked (one script)          ack

Reads first take over entries that another consumer read but has not acked
for longer than the visibility timeout (XAUTOCLAIM counts that delivery),
then read new entries. Acked entries are deleted, so the stream holds only
unacked messages and XLEN is the backlog. Nothing is ever trimmed.

Durability: put_many returns once Redis has the entries in memory. They
survive a Redis restart only as far as Redis persists them: run Redis with
``appendonly yes``. ``appendfsync everysec`` can lose the last second or two
on a Redis crash or a power cut (Redis answers before writing while an
fsync is still running); ``appendfsync always`` loses nothing. RDB
snapshots alone can lose minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from fixtrail.queue.base import (
    VISIBILITY_TIMEOUT_SECONDS,
    Backlog,
    Message,
    QueueUnavailable,
    check_read_arguments,
    validate_queue_name,
)

KEY_PREFIX = "fixtrail:queue:"
GROUP = "fixtrail"
BODY_FIELD = b"b"

# Redis on a local network connects in milliseconds; a server that takes
# seconds is down as far as an SDK waiting on ingest is concerned.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0

# Retries after a dropped connection or a timeout, with jittered backoff.
# Worst case with Redis unreachable: 3 attempts x CONNECT_TIMEOUT_SECONDS.
# A retried XADD may store a body twice, which digest deduplicates.
RETRIES = 2
RETRY_BACKOFF_BASE_SECONDS = 0.01
RETRY_BACKOFF_CAP_SECONDS = 0.25

# A blocking XREADGROUP waits at most this long per call, well inside
# SOCKET_TIMEOUT_SECONDS, so a long block_ms never looks like a dead socket.
BLOCK_SLICE_MS = 1000

# XAUTOCLAIM looks at up to 10 x count pending entries per call; a few calls
# cover the pending list of many live consumers without looping for long.
MAX_RECLAIM_CALLS = 4

_STREAM_ID = re.compile(rb"[0-9]+-[0-9]+")

# Deletes only the entries XACK finds delivered to the group. XDEL on all
# the given ids would also delete an entry nobody has read yet: ids are
# server times, so another queue's stream hands out equal ones, and an ack
# naming one of those must not drop this queue's message.
_ACK_SCRIPT = """
local acked = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    acked = acked + 1
  end
end
return acked
"""

T = TypeVar("T")


class RedisQueue:
    """A named queue in a Redis stream, safe across threads and processes.

    Construction does no I/O; the consumer group is created on first read.
    """

    def __init__(
        self,
        url: str,
        name: str = "events",
        *,
        visibility_timeout: float = VISIBILITY_TIMEOUT_SECONDS,
    ) -> None:
        validate_queue_name(name)
        self.name = name
        self.key = KEY_PREFIX + name
        self.visibility_timeout = visibility_timeout
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            retry=Retry(
                ExponentialWithJitterBackoff(
                    base=RETRY_BACKOFF_BASE_SECONDS, cap=RETRY_BACKOFF_CAP_SECONDS
                ),
                RETRIES,
            ),
        )
        options = self._client.connection_pool.connection_kwargs
        # Shown in errors instead of the URL, which may carry a password.
        self._where = f"{options.get('host', '?')}:{options.get('port', '?')}"
        self._group_ready = False
        self._closed = False
        # Registering sends nothing; the first call loads the script.
        self._ack = self._client.register_script(_ACK_SCRIPT)

    def put_many(self, bodies: list[bytes]) -> None:
        """Append ``bodies`` with XADD, several in one MULTI/EXEC round trip.

        Raise TypeError for a body that is not bytes, and QueueUnavailable
        when Redis cannot be reached or refuses the write.
        """
        if not bodies:
            return
        for body in bodies:
            if type(body) is not bytes:
                raise TypeError(f"Queue bodies must be bytes, not {type(body)!r}")

        def add() -> None:
            if len(bodies) == 1:
                self._client.xadd(self.key, {BODY_FIELD: bodies[0]})
                return
            pipe = self._client.pipeline(transaction=True)
            for body in bodies:
                pipe.xadd(self.key, {BODY_FIELD: body})
            pipe.execute()

        self._call(add)

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        """Claim up to ``count`` (at most MAX_READ_BATCH) messages, oldest first.

        Expired claims of other consumers come first, then new entries. With
        nothing available, wait up to ``block_ms`` milliseconds. Raise
        QueueUnavailable when Redis cannot be reached.
        """
        count = check_read_arguments(count, block_ms)
        deadline = time.monotonic() + block_ms / 1000
        while True:
            messages = self._call(self._reclaim, consumer, count)
            wait_ms = int((deadline - time.monotonic()) * 1000)
            if len(messages) < count:
                block = min(wait_ms, BLOCK_SLICE_MS) if not messages else 0
                wanted = count - len(messages)
                messages += self._call(self._read_new, consumer, wanted, block)
            if messages or time.monotonic() >= deadline:
                return messages

    def ack(self, ids: list[str]) -> None:
        """Acknowledge and delete these entries, atomically (a script).

        Ids that are gone already, or were never read from this queue, are
        ignored. Raise ValueError for a string that is not a stream id, and
        QueueUnavailable when Redis cannot be reached.
        """
        if not ids:
            return
        encoded = [message_id.encode() for message_id in ids]
        for message_id in encoded:
            if not _STREAM_ID.fullmatch(message_id):
                raise ValueError(f"Not a Redis stream id: {message_id.decode()!r}")
        self._call(self._ack, [self.key], [GROUP, *encoded])

    def backlog(self) -> Backlog:
        """Return XLEN and the age of the first entry, by the Redis clock."""

        def measure() -> tuple[int, list[Any], tuple[int, int]]:
            pipe = self._client.pipeline(transaction=True)
            pipe.xlen(self.key)
            pipe.xrange(self.key, "-", "+", count=1)
            pipe.time()
            return tuple(pipe.execute())  # type: ignore[return-value]

        size, first, (seconds, microseconds) = self._call(measure)
        if not first:
            return Backlog(size=size, oldest_age_seconds=None)
        first_id = first[0][0]
        enqueued_ms = int(first_id.split(b"-", 1)[0])
        now_ms = seconds * 1000 + microseconds / 1000
        # Ids can run ahead of the clock after the Redis host's clock steps
        # back (Redis keeps ids increasing); report that as no age.
        return Backlog(
            size=size, oldest_age_seconds=max(0.0, (now_ms - enqueued_ms) / 1000)
        )

    def close(self) -> None:
        """Disconnect from Redis; the queue must not be used afterwards."""
        self._closed = True
        self._client.close()

    def _reclaim(self, consumer: str, count: int) -> list[Message]:
        """Take over entries idle longer than the visibility timeout."""
        self._ensure_group()
        idle_ms = int(self.visibility_timeout * 1000)
        entries: list[tuple[bytes, dict[bytes, bytes]]] = []
        start: bytes | str = "0-0"
        for _ in range(MAX_RECLAIM_CALLS):
            reply = self._client.xautoclaim(
                self.key, GROUP, consumer, idle_ms, start, count=count - len(entries)
            )
            # Redis 7 appends a list of deleted ids; 6.2 instead reports an
            # entry deleted under a claim with nil fields.
            start, claimed = reply[0], reply[1]
            entries += [entry for entry in claimed if entry[1] is not None]
            if start in (b"0-0", "0-0") or len(entries) >= count:
                break
        if not entries:
            return []
        pipe = self._client.pipeline(transaction=False)
        for entry_id, _fields in entries:
            pipe.xpending_range(self.key, GROUP, entry_id, entry_id, 1)
        pending = pipe.execute()
        messages = []
        for (entry_id, fields), found in zip(entries, pending, strict=True):
            # Empty when it was acked since the claim; owned by another
            # consumer when that one took it over in between. Either way it
            # is not this consumer's to handle.
            if found and found[0]["consumer"] == consumer.encode():
                deliveries = found[0]["times_delivered"]
                messages.append(
                    Message(entry_id.decode(), fields[BODY_FIELD], deliveries)
                )
        return messages

    def _read_new(self, consumer: str, count: int, block_ms: int) -> list[Message]:
        self._ensure_group()
        # BLOCK 0 means forever to Redis, so "no wait" must omit BLOCK.
        block = block_ms if block_ms >= 1 else None
        response = self._client.xreadgroup(
            GROUP, consumer, {self.key: ">"}, count=count, block=block
        )
        if not response:
            return []
        ((_key, entries),) = response
        return [
            Message(entry_id.decode(), fields[BODY_FIELD], 1)
            for entry_id, fields in entries
        ]

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From id 0, so entries added before any consumer existed count.
            self._client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _call(self, operation: Callable[..., T], *args: Any) -> T:
        """Run ``operation(*args)``, translating Redis errors to QueueUnavailable.

        A NOGROUP error means the stream was deleted under a running process
        (an operator reset); the group is created again and the operation
        retried once.
        """
        if self._closed:
            raise QueueUnavailable(f"The queue {self.key} has been closed.")
        try:
            try:
                return operation(*args)
            except redis.ResponseError as exc:
                if not str(exc).startswith("NOGROUP"):
                    raise
                self._group_ready = False
                return operation(*args)
        except redis.RedisError as exc:
            raise QueueUnavailable(
                f"The Redis queue {self.key} at {self._where} failed: {exc}"
            ) from exc
