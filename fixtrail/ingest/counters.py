"""Counter stores for rate limits and quotas, shared by every ingest process.

Two backends with one method, ``consume(limits, amount, now)``: check every
counter and, only when all have room, add ``amount`` to each, atomically.

- Redis (chosen when ``QUEUE_URL`` is ``redis://`` or ``rediss://``): one Lua
  script per call, so the check and the increments happen as one step on the
  server, and counters expire with their window.
- SQLite otherwise: a small file, ``FIXTRAIL_DATA_DIR/ratelimits.sqlite3``,
  apart from the main database and the queue so counting never waits for a
  digest batch or an enqueue. It runs with ``synchronous=OFF``: a counter lost
  in a power cut only lets a few more events through.

The store is touched only by requests that carry an event and have at least
one limit configured, so an instance without limits never opens it. When the
store itself fails the request is let through (fail open) and the failure is
logged: refusing every event because a counter is unreachable would lose
more than a limit is meant to protect.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from fixtrail.ingest.ratelimits import Limit
from fixtrail.lib.sqlite import use_wal

logger = logging.getLogger(__name__)

COUNTERS_FILENAME = "ratelimits.sqlite3"

# Same reasoning as the queue's: a counter transaction holds the lock for
# microseconds, so only a stuck file makes a writer wait this long.
BUSY_TIMEOUT_SECONDS = 5.0

# Expired counters are deleted at most this often per process; the table
# holds a few rows per key and project per minute, so hourly is plenty.
PRUNE_INTERVAL_SECONDS = 3600.0

# Redis calls on the hot path must answer fast or not at all.
REDIS_TIMEOUT_SECONDS = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID
"""

# KEYS: counter names. ARGV: amount, then one limit per key, then one TTL
# (seconds) per key. Returns 0 when all were incremented, else the 1-based
# index of the first counter that has no room (and increments nothing).
_CONSUME_SCRIPT = """
local amount = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + amount > tonumber(ARGV[1 + i]) then
    return i
  end
end
for i = 1, n do
  redis.call('INCRBY', KEYS[i], amount)
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1 + n + i]))
end
return 0
"""

REDIS_KEY_PREFIX = "fixtrail:ratelimit:"


class CounterStore(Protocol):
    """Atomic check-and-increment over several fixed-window counters."""

    def consume(self, limits: list[Limit], amount: int, now: float) -> Limit | None:
        """Add ``amount`` to every counter if all stay within their limits.

        Return None when the amount was added, else the first Limit that has
        no room (and add nothing anywhere).
        """


class SqliteCounterStore:
    """Counters in a SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._next_prune = 0.0

    def consume(self, limits: list[Limit], amount: int, now: float) -> Limit | None:
        """See CounterStore.consume."""
        connection = self._connection()
        with connection:
            connection.execute("BEGIN IMMEDIATE")
            names = [limit.counter for limit in limits]
            placeholders = ",".join("?" * len(names))
            current = dict(
                connection.execute(
                    f"SELECT name, value FROM counter "
                    f"WHERE name IN ({placeholders}) AND expires_at > ?",
                    [*names, now],
                ).fetchall()
            )
            for limit in limits:
                if current.get(limit.counter, 0) + amount > limit.limit:
                    return limit
            connection.executemany(
                "INSERT INTO counter (name, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = CASE "
                "WHEN counter.expires_at > ? THEN counter.value + excluded.value "
                "ELSE excluded.value END, expires_at = excluded.expires_at",
                [
                    (limit.counter, amount, now + limit.ttl_seconds, now)
                    for limit in limits
                ],
            )
            if now >= self._next_prune:
                self._next_prune = now + PRUNE_INTERVAL_SECONDS
                connection.execute("DELETE FROM counter WHERE expires_at <= ?", (now,))
        return None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            use_wal(connection, BUSY_TIMEOUT_SECONDS)
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute(_SCHEMA)
            self._local.connection = connection
        return connection


class RedisCounterStore:
    """Counters in Redis, next to the queue; safe across threads and processes."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(_CONSUME_SCRIPT)

    def consume(self, limits: list[Limit], amount: int, now: float) -> Limit | None:
        """See CounterStore.consume. ``now`` is unused: Redis expires keys."""
        keys = [REDIS_KEY_PREFIX + limit.counter for limit in limits]
        args = [amount]
        args += [limit.limit for limit in limits]
        args += [limit.ttl_seconds for limit in limits]
        refused = int(self._script(keys=keys, args=args))
        return limits[refused - 1] if refused else None


_stores: dict[tuple[str, str], CounterStore] = {}
_stores_lock = threading.Lock()


def counter_store() -> CounterStore:
    """Return this process's counter store for the current settings."""
    from django.conf import settings

    url = settings.QUEUE_URL
    if url.startswith(("redis://", "rediss://")):
        cache_key = (url, "")
    else:
        cache_key = ("sqlite", str(settings.FIXTRAIL_DATA_DIR))
    store = _stores.get(cache_key)
    if store is None:
        with _stores_lock:
            store = _stores.get(cache_key)
            if store is None:
                if cache_key[0] == "sqlite":
                    path = Path(settings.FIXTRAIL_DATA_DIR) / COUNTERS_FILENAME
                    store = SqliteCounterStore(path)
                else:
                    store = RedisCounterStore(url)
                _stores[cache_key] = store
    return store


def consume_or_allow(
    limits: list[Limit], amount: int, now: float | None = None
) -> Limit | None:
    """Consume from the configured store; on a store failure, allow and log.

    Returns the refusing Limit, or None when the request may go on.
    """
    if not limits:
        return None
    now = time.time() if now is None else now
    try:
        return counter_store().consume(limits, amount, now)
    except Exception:
        # Any store failure (locked file, Redis down, script error) lets the
        # event through: see the module docstring for why this fails open.
        logger.exception("rate-limit counter store failed; allowing the event")
        return None
