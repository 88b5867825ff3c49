"""The SQLite file queue backend, the single-machine default.

All named queues share one file and one table; each row is one message::

    queue_message                                              queue_body
    id  name    enqueued_at      visible_at       deliveries      id  body
    41  events  1767225600.125   0.0              0   waiting     41  b'{"ty...
    42  events  1767225600.25    1767225660.3     1   in flight   42  b'{"ty...

Message ids join the row id and enqueued_at: ``"42:1767225600.25"``.

A read claims rows whose ``visible_at`` has passed by pushing it one
visibility timeout into the future and counting the delivery, all in one
``UPDATE ... RETURNING`` under a write lock, so two consumers never get the
same row. An ack deletes the row. A consumer that dies simply stops acking,
and its rows come back when their ``visible_at`` passes.

Durability. The file runs in WAL mode. With ``synchronous=NORMAL`` (the
default) a commit is written to the WAL before ``put_many`` returns but not
fsynced: it survives a crash or SIGKILL of any process, and the database is
never corrupted, but the last commits may be lost if the machine loses
power or the kernel crashes. ``synchronous=FULL`` (URL ``?synchronous=full``)
fsyncs the WAL at every commit and survives power loss, at a cost of one
disk flush per ingest request (see bench/queue_micro.py for both figures).
NORMAL is the default because it matches what the Redis backend promises
with Redis's own default persistence, and a flush per request caps ingest
at the disk's flush rate.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from fixtrail.lib.sqlite import use_wal
from fixtrail.queue.base import (
    VISIBILITY_TIMEOUT_SECONDS,
    Backlog,
    Message,
    QueueUnavailable,
    check_read_arguments,
    validate_queue_name,
)

# How long a writer waits for another writer's lock before giving up. Writes
# hold the lock for well under a millisecond, so 5 s only runs out when the
# file is stuck (a hung process inside a transaction, a full disk).
BUSY_TIMEOUT_SECONDS = 5.0

# Sleep between polls while read() blocks: bounds the extra latency of an
# idle consumer picking up new work, at one cheap read query per interval.
POLL_INTERVAL_SECONDS = 0.05

# Truncate the WAL back to this size after a checkpoint, so a burst does not
# leave a large file behind forever.
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024

SYNCHRONOUS_MODES = ("NORMAL", "FULL")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_message (
    -- SQLite reuses the highest id once that row is deleted, which happens
    -- whenever the queue drains. Message ids therefore carry enqueued_at
    -- too, so a late ack cannot delete a newer row that got the same id.
    -- (AUTOINCREMENT would prevent reuse but costs 20-40% of put speed,
    -- one more page written per commit.)
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    -- Epoch seconds after which the row may be claimed; 0 until first read.
    visible_at REAL NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 0,
    -- Last consumer that claimed the row, for operators only.
    consumer TEXT
);
-- Serves claims (scan one queue in id order, skipping rows in flight) and
-- the backlog count. visible_at is left out on purpose: it changes on every
-- claim, and indexing it would add an index write per claimed row.
CREATE INDEX IF NOT EXISTS queue_message_name ON queue_message (name);
-- Bodies live apart from the claim state because SQLite rewrites a whole
-- row on UPDATE: with the body inline, every claim copied kilobytes of
-- overflow pages into the WAL (measured: read+ack 4x slower at 3.5 KB).
CREATE TABLE IF NOT EXISTS queue_body (
    id INTEGER PRIMARY KEY,  -- queue_message.id
    body BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS queue_message_drop_body
AFTER DELETE ON queue_message
BEGIN
    DELETE FROM queue_body WHERE id = old.id;
END;
"""

_INSERT_MESSAGE = "INSERT INTO queue_message (name, enqueued_at) VALUES (?, ?)"
_INSERT_BODY = "INSERT INTO queue_body (id, body) VALUES (?, ?)"

_HAS_VISIBLE = "SELECT 1 FROM queue_message WHERE name = ? AND visible_at <= ? LIMIT 1"

_CLAIM = """
UPDATE queue_message
SET visible_at = ?, deliveries = deliveries + 1, consumer = ?
WHERE id IN (
    SELECT id FROM queue_message
    WHERE name = ? AND visible_at <= ?
    ORDER BY id
    LIMIT ?
)
RETURNING
    id,
    enqueued_at,
    (SELECT body FROM queue_body WHERE queue_body.id = queue_message.id),
    deliveries
"""

# The trigger removes the body.
_DELETE = "DELETE FROM queue_message WHERE id = ? AND enqueued_at = ? AND name = ?"

_BACKLOG = """
SELECT
    (SELECT count(*) FROM queue_message WHERE name = ?1),
    (SELECT enqueued_at FROM queue_message WHERE name = ?1 ORDER BY id LIMIT 1)
"""


# Connections a forked child inherited; see SqliteQueue._connection.
_INHERITED_CONNECTIONS: list[sqlite3.Connection] = []


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the base class cannot)."""


class SqliteQueue:
    """A named queue in a SQLite file, safe across threads and processes.

    Each thread (and each forked process) gets its own connection, opened on
    first use. Construction does no I/O.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str = "events",
        *,
        visibility_timeout: float = VISIBILITY_TIMEOUT_SECONDS,
        synchronous: str = "NORMAL",
    ) -> None:
        validate_queue_name(name)
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, "
                f"got {synchronous!r}"
            )
        self.path = Path(path)
        self.name = name
        self.visibility_timeout = visibility_timeout
        self.synchronous = synchronous.upper()
        self._local = threading.local()
        self._all_connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str,
        name: str = "events",
        *,
        visibility_timeout: float = VISIBILITY_TIMEOUT_SECONDS,
    ) -> SqliteQueue:
        """Open ``sqlite:///absolute/path[?synchronous=normal|full]``.

        Raise ValueError for a host part, a relative path or an unknown option.
        """
        parts = urlsplit(url)
        # sqlite:////abs/path (SQLAlchemy's spelling) means the same file.
        path = "/" + unquote(parts.path).lstrip("/") if parts.path else ""
        if parts.netloc or not parts.path.startswith("/") or path == "/":
            raise ValueError(
                "A SQLite queue URL needs an absolute file path, "
                "like sqlite:///var/lib/fixtrail/queue.sqlite3"
            )
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(options) - {"synchronous"})
        if unknown:
            raise ValueError(
                f"Unknown SQLite queue URL option {unknown[0]!r}: "
                "only 'synchronous' is supported"
            )
        synchronous = options.get("synchronous", ["NORMAL"])[-1]
        return cls(
            path, name, visibility_timeout=visibility_timeout, synchronous=synchronous
        )

    def put_many(self, bodies: list[bytes]) -> None:
        """Append ``bodies`` in one transaction, committed before returning.

        Raise TypeError for a body that is not bytes, and QueueUnavailable
        when the file cannot be written (then nothing was stored).
        """
        if not bodies:
            return
        for body in bodies:
            if type(body) is not bytes:
                raise TypeError(f"Queue bodies must be bytes, not {type(body)!r}")
        message = (self.name, time.time())
        with self._write() as connection:
            for body in bodies:
                row_id = connection.execute(_INSERT_MESSAGE, message).lastrowid
                connection.execute(_INSERT_BODY, (row_id, body))

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        """Claim up to ``count`` (at most MAX_READ_BATCH) messages, oldest first.

        Poll every POLL_INTERVAL_SECONDS for up to ``block_ms`` milliseconds
        while nothing is available. Claimed messages are invisible to other
        reads for the visibility timeout. Raise QueueUnavailable when the
        file cannot be read or written.
        """
        count = check_read_arguments(count, block_ms)
        deadline = time.monotonic() + block_ms / 1000
        while True:
            messages = self._claim(consumer, count)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            time.sleep(min(POLL_INTERVAL_SECONDS, remaining))

    def ack(self, ids: list[str]) -> None:
        """Delete the messages with these ids from this queue.

        Ids that are gone already (acked by a consumer whose claim had
        expired) are ignored. Raise ValueError for an id this backend never
        issued, and QueueUnavailable when the file cannot be written.
        """
        if not ids:
            return
        rows = [(*_parse_id(message_id), self.name) for message_id in ids]
        with self._write() as connection:
            connection.executemany(_DELETE, rows)

    def backlog(self) -> Backlog:
        """Count unacknowledged messages and age the oldest (enqueue clock).

        Counting walks the queue's index, so this costs a few milliseconds
        per hundred thousand waiting messages.
        """
        connection = self._connection()
        try:
            size, oldest = connection.execute(_BACKLOG, (self.name,)).fetchone()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        if oldest is None:
            return Backlog(size=size, oldest_age_seconds=None)
        # Clocks of different processes agree, but a wall clock stepped
        # backwards must not report a negative age.
        return Backlog(size=size, oldest_age_seconds=max(0.0, time.time() - oldest))

    def close(self) -> None:
        """Close every connection this queue opened, in all threads."""
        with self._lock:
            self._closed = True
            connections = list(self._all_connections)
            self._all_connections = weakref.WeakSet()
        for connection in connections:
            connection.close()

    def _claim(self, consumer: str, count: int) -> list[Message]:
        connection = self._connection()
        now = time.time()
        try:
            # A plain read first, so idle polling never takes the write lock
            # that ingest needs.
            if connection.execute(_HAS_VISIBLE, (self.name, now)).fetchone() is None:
                return []
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        with self._write() as connection:
            now = time.time()
            rows = connection.execute(
                _CLAIM,
                (now + self.visibility_timeout, consumer, self.name, now, count),
            ).fetchall()
        # RETURNING gives rows in no promised order.
        rows.sort()
        return [
            Message(_format_id(row_id, enqueued_at), body, deliveries)
            for row_id, enqueued_at, body, deliveries in rows
        ]

    @contextmanager
    def _write(self) -> Iterator[_Connection]:
        """Run the block in one IMMEDIATE transaction, committed on exit.

        IMMEDIATE takes the write lock up front, where the busy timeout
        applies; a deferred transaction that upgrades later can fail at once
        with SQLITE_BUSY when another process wrote in between.
        """
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def _connection(self) -> _Connection:
        if self._closed:
            raise QueueUnavailable(f"The queue at {self.path} has been closed.")
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None and local.pid == os.getpid():
            return connection
        pid = os.getpid()
        with self._lock:
            if self._pid != pid:
                # First use after fork(). SQLite's locks belong to the parent,
                # so its connections must be neither used nor closed here
                # (closing may checkpoint or unlock the parent's file);
                # parking them keeps them from being finalized.
                _INHERITED_CONNECTIONS.extend(self._all_connections)
                self._all_connections = weakref.WeakSet()
                self._pid = pid
        try:
            connection = self._open()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        local.connection = connection
        local.pid = pid
        with self._lock:
            self._all_connections.add(connection)
        return connection

    def _open(self) -> _Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        try:
            use_wal(connection, BUSY_TIMEOUT_SECONDS)
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            connection.execute(
                f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}"
            )
            # Debian builds SQLite with secure_delete on, which zeroes every
            # freed page and doubled the cost of an ack. FAST still wipes
            # b-tree pages; freed overflow pages keep old bodies until reused,
            # acceptable for a file that holds the same events as the main
            # database.
            connection.execute("PRAGMA secure_delete = FAST")
            # Inside the script: executescript() commits any open
            # transaction before it starts.
            connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        except BaseException:
            connection.close()
            raise
        return connection

    def _unavailable(self, exc: sqlite3.Error) -> QueueUnavailable:
        return QueueUnavailable(f"The SQLite queue at {self.path} failed: {exc}")


def _format_id(row_id: int, enqueued_at: float) -> str:
    # repr() of a float reads back as the identical float, so the ack can
    # compare enqueued_at for equality.
    return f"{row_id}:{enqueued_at!r}"


def _parse_id(message_id: str) -> tuple[int, float]:
    row_id, _, enqueued_at = message_id.partition(":")
    try:
        if not row_id.isdigit():
            raise ValueError
        return int(row_id), float(enqueued_at)
    except ValueError:
        raise ValueError(f"Not a SQLite queue message id: {message_id!r}") from None
