"""Per-project counters of what arrived, kept off the main tables.

Every request adds to an in-process accumulator (a dict increment under a
lock, no I/O). Every FLUSH_INTERVAL_SECONDS the totals leave as one ``stats``
queue message (format in fixtrail.ingest.items), which digest adds to its
stats table. The message rides along with a request's own ``put_many`` when
one is due, and a background thread flushes an idle process, so counting
never costs an extra write per request.

Why not a counter store: an increment per item per request in Redis or SQLite
would double the writes on the hot path for numbers nobody reads more often
than once a minute. The price: a process killed with SIGKILL loses at most
the last FLUSH_INTERVAL_SECONDS of its counters (never an event), and a
stats message redelivered by the queue is counted twice unless digest
tracks message ids.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import orjson

from fixtrail.ingest import items
from fixtrail.ingest.exceptions import IngestError

logger = logging.getLogger(__name__)

# Stats pages show minutes at best; 5 s keeps the loss on SIGKILL small and
# the stats messages to one every 5 s per process.
FLUSH_INTERVAL_SECONDS = 5.0

# Keys are (project, category, outcome, reason) or (project, release,
# environment, status); a flood of distinct releases or reasons from a
# hostile client must not grow memory without bound. 10,000 keys are about
# 2 MB; past that, counts fold into one overflow key per outcome.
MAX_KEYS = 10_000

OutcomeKey = tuple[int, str, str, str | None]
SessionKey = tuple[int, str, str | None, str]


@dataclass
class StatsBatch:
    """Counts taken out of the accumulator, and the message that carries them."""

    body: bytes
    outcomes: dict[OutcomeKey, int] = field(repr=False)
    sessions: dict[SessionKey, int] = field(repr=False)
    interval_start: float = 0.0


class StatsAccumulator:
    """Thread-safe in-memory counters with a flush schedule."""

    def __init__(
        self,
        flush_interval_seconds: float = FLUSH_INTERVAL_SECONDS,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.flush_interval_seconds = flush_interval_seconds
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._outcomes: dict[OutcomeKey, int] = {}
        self._sessions: dict[SessionKey, int] = {}
        self._interval_start: float | None = None

    def add_outcome(
        self,
        project_id: int,
        category: str,
        outcome: str,
        quantity: int = 1,
        reason: str | None = None,
        now: float | None = None,
    ) -> None:
        """Count ``quantity`` items of ``category`` with ``outcome``."""
        key: OutcomeKey = (project_id, category, outcome, reason)
        with self._lock:
            self._start(now)
            if key not in self._outcomes and len(self._outcomes) >= self.max_keys:
                key = (0, "unknown", outcome, "overflow")
            self._outcomes[key] = self._outcomes.get(key, 0) + quantity

    def add_session(
        self,
        project_id: int,
        release: str,
        environment: str | None,
        status: str,
        quantity: int = 1,
        now: float | None = None,
    ) -> None:
        """Count ``quantity`` sessions of a release in ``status``."""
        key: SessionKey = (project_id, release, environment, status)
        with self._lock:
            self._start(now)
            if key not in self._sessions and len(self._sessions) >= self.max_keys:
                key = (0, "overflow", None, status)
            self._sessions[key] = self._sessions.get(key, 0) + quantity

    def is_due(self, now: float) -> bool:
        """Return whether counts are waiting and the interval has passed."""
        start = self._interval_start
        return start is not None and now - start >= self.flush_interval_seconds

    def take(self, now: float) -> StatsBatch | None:
        """Remove and return all counts as a stats message, or None if empty."""
        with self._lock:
            if self._interval_start is None:
                return None
            outcomes, self._outcomes = self._outcomes, {}
            sessions, self._sessions = self._sessions, {}
            start, self._interval_start = self._interval_start, None
        outcome_fields = ("project_id", "category", "outcome", "reason")
        session_fields = ("project_id", "release", "environment", "status")
        payload = {
            "interval_start": start,
            "interval_end": now,
            "outcomes": [
                {**dict(zip(outcome_fields, key, strict=True)), "quantity": quantity}
                for key, quantity in outcomes.items()
            ],
            "sessions": [
                {**dict(zip(session_fields, key, strict=True)), "quantity": quantity}
                for key, quantity in sessions.items()
            ],
        }
        body = items.encode_item(
            {"type": items.STATS, "received_at": now}, orjson.dumps(payload)
        )
        return StatsBatch(body, outcomes, sessions, start)

    def take_due(self, now: float) -> StatsBatch | None:
        """Like take(), but only once the flush interval has passed."""
        return self.take(now) if self.is_due(now) else None

    def restore(self, batch: StatsBatch) -> None:
        """Put back the counts of a batch whose message could not be queued."""
        with self._lock:
            self._start(batch.interval_start)
            self._interval_start = min(self._interval_start, batch.interval_start)
            for key, quantity in batch.outcomes.items():
                self._outcomes[key] = self._outcomes.get(key, 0) + quantity
            for key, quantity in batch.sessions.items():
                self._sessions[key] = self._sessions.get(key, 0) + quantity

    def clear(self) -> None:
        """Drop every count (tests start from zero with this)."""
        with self._lock:
            self._outcomes = {}
            self._sessions = {}
            self._interval_start = None

    def _start(self, now: float | None) -> None:
        if self._interval_start is None:
            self._interval_start = time.time() if now is None else now


# The process's accumulator: ingest requests add to it, and the request path
# and the flusher thread take from it.
STATS = StatsAccumulator()

_flusher_lock = threading.Lock()
# The process that started the flusher: a forked worker inherits the flag
# but not the thread, so it must start its own.
_flusher_pid: int | None = None


def flush_stats(force: bool = True, now: float | None = None) -> bool:
    """Queue the accumulated counts now (or only if due, with force=False).

    Returns whether a stats message was queued. On a queue failure the
    counts go back into the accumulator for the next attempt.
    """
    from fixtrail.ingest.outbox import enqueue

    now = time.time() if now is None else now
    batch = STATS.take(now) if force else STATS.take_due(now)
    if batch is None:
        return False
    try:
        enqueue([batch.body])
    except IngestError:
        STATS.restore(batch)
        return False
    return True


def start_flusher() -> None:
    """Start this process's background flusher thread, once.

    The thread only matters when no requests arrive (requests carry due
    stats themselves); it also flushes once more at interpreter exit.
    """
    global _flusher_pid
    if _flusher_pid == os.getpid():
        return
    with _flusher_lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
    thread = threading.Thread(target=_flush_forever, name="fixtrail-stats", daemon=True)
    thread.start()
    atexit.register(_flush_quietly)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_INTERVAL_SECONDS)
        _flush_quietly(force=False)


def _flush_quietly(force: bool = True) -> None:
    try:
        flush_stats(force=force)
    except Exception:
        # The flusher must outlive any one failure (settings not ready at
        # exit, a broken queue URL); the counts stay for the next attempt.
        logger.exception("could not flush ingest stats")
