"""The digest worker: the long-running loop behind ``fixtrail worker``.

Each turn of the loop:

0. (beside the loop, in a thread: outbound jobs and periodic tasks of the
   apps, see fixtrail.jobs.runner)
1. runs the periodic jobs when they are due (retention, ignore expiry,
   settling new issues, event partitions ahead);
2. digests batches of up to BATCH_SIZE queued items (waiting up to
   READ_BLOCK_MS for the first), each in one transaction
   (fixtrail.digest.batches), preparing the next batch while the current
   one is written (in the helper process, the writer taking its share:
   see Helpers), until the queue is empty or a job is due;
3. acknowledges each batch once it is committed.

SIGTERM and SIGINT set a flag; the batch in hand finishes and is
acknowledged before the loop ends, so a deploy never cuts a batch in half.
Errors never end the loop: a bad item becomes a ProcessingError inside the
batch, and a failure of the database or the queue leaves the batch
unacknowledged (the queue delivers it again) while the loop waits and
retries with a growing pause.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from fixtrail.core.metrics import record_batch
from fixtrail.digest.batches import (
    DecodedBatch,
    decode_batch,
    digest_messages,
    write_batch,
)
from fixtrail.digest.config import ProjectConfig
from fixtrail.digest.prepare import BatchResult, Prepared, prepare
from fixtrail.jobs.runner import JobRunner
from fixtrail.lib.processes import die_with_parent
from fixtrail.queue import Message, Queue, open_queue

logger = logging.getLogger(__name__)

# A decoded queue item: message id, header, payload (fixtrail.digest.batches).
Item = tuple[str, dict[str, Any], bytes]

# Items per batch: enough that per-statement costs vanish (a batch of 500
# ~10 KB events writes in about 0.1 s on the reference machine), few enough
# that a batch's memory (~5 MB of payloads, several times that parsed) and
# its hold on the write lock stay small.
BATCH_SIZE = 500
# How long a read waits for work; also the longest a stop signal waits.
READ_BLOCK_MS = 1000
# Items digested alone, after the rest of their batch, once they have been
# delivered this often: an item that keeps killing the process (not just
# raising) then stops taking its batch-mates down with it.
ISOLATE_AFTER_DELIVERIES = 3
# Pause after a failed turn, doubling up to the maximum while failures last.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0
# How often a long digest_stream runs the paused garbage collector. A pass
# takes tens of milliseconds while a batch is in flight (bench/digest.py).
COLLECT_EVERY_SECONDS = 30.0
# How long digest lets a partial batch fill before digesting it. A batch
# costs about 10 ms of CPU whatever its size (queries, commit, hand-off), so
# a trickle digested item by item costs several times a backlog's CPU per
# event; this is the most it adds to the time an event takes to show.
GATHER_SECONDS = 0.1
# Batches of at least this many items are prepared in the forked helper
# process; smaller ones mean digest keeps up, and a thread beside the writer
# serves them without the helper's memory (35 MB PSS at rest).
HELPER_PROCESS_MIN_ITEMS = 100
# The helper process stops after this long without such a batch.
HELPER_IDLE_SECONDS = 60.0
# The most of a batch the writer prepares itself beside the helper process
# (Helpers.split), and the weight of the latest batch in the running
# per-item times that set its share.
MAX_WRITER_SHARE = 0.5
TIMING_WEIGHT = 0.25
# Periodic jobs: often enough that an expired ignore comes back within
# minutes, rarely enough that their queries cost nothing.
JOBS_INTERVAL_SECONDS = 300.0


def default_consumer_name() -> str:
    """Return ``host-pid``, unique among the workers sharing a queue."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _split(messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """Return the messages to digest as a batch, and the suspects to
    digest one by one (delivered ISOLATE_AFTER_DELIVERIES times or more)."""
    healthy = [m for m in messages if m.deliveries < ISOLATE_AFTER_DELIVERIES]
    suspects = [m for m in messages if m.deliveries >= ISOLATE_AFTER_DELIVERIES]
    return healthy, suspects


def _digest_alone(queue: Queue, message: Message) -> BatchResult:
    logger.warning(
        "digesting message %s alone after %d deliveries",
        message.id,
        message.deliveries,
    )
    result = digest_messages([message])
    queue.ack([message.id])
    return result


def digest_once(
    queue: Queue,
    consumer: str,
    max_items: int = BATCH_SIZE,
    block_ms: int = 0,
    totals: BatchResult | None = None,
) -> int:
    """Read, digest and acknowledge one batch; return how many items it had.

    Returns 0 when the queue had nothing within ``block_ms``. Raises when
    the queue or the database fails; the batch is then not acknowledged,
    and the queue hands it out again after its visibility timeout. What
    the batch did is added to ``totals`` when given.
    """
    messages = queue.read(consumer, max_items, block_ms=block_ms)
    if not messages:
        return 0
    healthy, suspects = _split(messages)
    result = BatchResult()
    with _collector_paused():
        if healthy:
            result.add(digest_messages(healthy))
            queue.ack([m.id for m in healthy])
            _count(result, len(healthy))
        for message in suspects:
            result.add(_digest_alone(queue, message))
    if totals is not None:
        totals.add(result)
    return len(messages)


def _count(result: BatchResult, items: int) -> None:
    record_batch(
        items,
        result.events_stored,
        result.write_seconds,
        {
            "created": result.issues_created,
            "regressed": result.regressions,
            "escalated": result.escalations,
        },
    )


def _timed_prepare(
    items: list[Item], configs: dict[int, ProjectConfig]
) -> tuple[Prepared, float]:
    """prepare(), and the seconds it took: the helper process reports its
    own time, since its copy of the batch is not the caller's."""
    started = time.perf_counter()
    prepared = prepare(items, configs)
    return prepared, time.perf_counter() - started


def _enter_helper(parent: int) -> None:
    """Set up the forked helper process.

    It inherits the parent's open database and queue connections and must
    never use or close them (closing a PostgreSQL connection sends the
    server a goodbye for the parent's session); it touches no database, and
    leaves through os._exit, which runs no finalizers. Stopping is the
    parent's business: the helper ignores Ctrl-C and dies on SIGTERM, which
    it also gets when the parent dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)


def start_helper() -> Executor:
    """Return an executor for the pure work of upcoming batches.

    A forked process where the platform has fork, so the pure work of one
    batch really runs beside the writing of another, on another core: on
    the reference 2-core machine that doubles events/s over digest_once
    alone (bench/digest.py: about 1,100 to 2,100 on SQLite and 1,150 to
    2,200 on PostgreSQL). Elsewhere a thread, which still overlaps the
    time the database spends in C code or in its server without the GIL.
    """
    if "fork" in multiprocessing.get_all_start_methods():
        executor = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_enter_helper,
            initargs=(os.getpid(),),
        )
        # Fork now, not halfway through the batch. Frozen objects are left
        # alone by either process's garbage collector, so their pages stay
        # shared after the fork instead of being copied the first time a
        # collection walks them. Other threads (the job runner, the SDK's)
        # may hold locks at the fork; the helper only prepares batches and
        # takes none of theirs, and logging's locks are reset in the child.
        gc.freeze()
        executor.submit(int).result()
        return executor
    return ThreadPoolExecutor(1, thread_name_prefix="digest-prepare")


def writer_share(prepare_per_item: float, write_per_item: float) -> float:
    """Return the share of a batch the writer should prepare itself, given
    the seconds per item of preparing and of writing.

    With a helper process, a batch takes the longer of the helper's time
    and the writer's. When the writer prepares a share ``s``, those are
    ``(1 - s) * P`` and ``W + s * P`` per item, equal at
    ``s = (P - W) / 2P``; none when writing is the slower part.
    """
    if prepare_per_item <= write_per_item:
        return 0.0
    share = (prepare_per_item - write_per_item) / (2 * prepare_per_item)
    return min(MAX_WRITER_SHARE, share)


class Helpers:
    """Where upcoming batches are prepared, by their size.

    A thread beside the writer for the small batches of a queue that digest
    keeps up with; the helper process of start_helper, forked when the
    first batch of HELPER_PROCESS_MIN_ITEMS or more arrives, for as long as
    such batches keep coming, and stopped after ``idle_seconds`` without
    one. A worker at rest so holds one process, not two.

    Preparing costs more than writing (bench/digest.py: about 270 against
    110 to 180 us per event), so behind a backlog the writer would wait for
    the helper process: ``split`` gives the writer the tail of each batch
    to prepare itself, sized from the running per-item times (see
    writer_share), and ``observe`` keeps those up to date.
    """

    def __init__(
        self,
        process_min_items: int = HELPER_PROCESS_MIN_ITEMS,
        idle_seconds: float = HELPER_IDLE_SECONDS,
    ) -> None:
        self.process_min_items = process_min_items
        self.idle_seconds = idle_seconds
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="digest-prepare")
        self.process: Executor | None = None
        self._busy_at = 0.0
        # Running seconds per item of the helper process's preparing and
        # of writing; none measured yet.
        self.prepare_per_item = 0.0
        self.write_per_item = 0.0

    def for_batch(self, items: int) -> Executor:
        """Return the executor to prepare a batch of ``items`` items."""
        if items >= self.process_min_items:
            self._busy_at = time.monotonic()
            if self.process is None:
                self.process = start_helper()
        else:
            self.tidy()
        return self.process or self.thread

    def split(self, items: list[Item]) -> tuple[Executor, list[Item], list[Item]]:
        """Return the executor for a batch of ``items``, the items it is to
        prepare, and the items the writer prepares itself (none unless the
        executor is the helper process)."""
        executor = self.for_batch(len(items))
        if executor is not self.process:
            return executor, items, []
        share = writer_share(self.prepare_per_item, self.write_per_item)
        cut = len(items) - int(len(items) * share)
        return executor, items[:cut], items[cut:]

    def observe(
        self, prepared: int, prepare_seconds: float, written: int, write_seconds: float
    ) -> None:
        """Note how long the helper process took to prepare ``prepared``
        items and the writer to write ``written``."""
        if prepared:
            self.prepare_per_item = _running(
                self.prepare_per_item, prepare_seconds / prepared
            )
        if written:
            self.write_per_item = _running(self.write_per_item, write_seconds / written)

    def tidy(self) -> None:
        """Stop the helper process once it has been idle long enough."""
        if time.monotonic() - self._busy_at >= self.idle_seconds:
            # A batch it still holds is finished, not dropped.
            self._drop_process(wait=True, cancel=False)

    def forget_process(self) -> None:
        """Drop a helper process that died; the next big batch forks anew."""
        self._drop_process(wait=False, cancel=True)

    def shutdown(self) -> None:
        """Stop the thread and the helper process, dropping queued work."""
        self.thread.shutdown(wait=True, cancel_futures=True)
        self._drop_process(wait=True, cancel=True)

    def _drop_process(self, *, wait: bool, cancel: bool) -> None:
        if self.process is not None:
            self.process.shutdown(wait=wait, cancel_futures=cancel)
            self.process = None


def _running(average: float, latest: float) -> float:
    """Return the running average with ``latest`` weighed in; the first
    measurement stands alone."""
    if not average:
        return latest
    return average + TIMING_WEIGHT * (latest - average)


def digest_stream(
    queue: Queue,
    consumer: str,
    *,
    batch_size: int = BATCH_SIZE,
    block_ms: int = 0,
    stop: Callable[[], bool] | None = None,
    totals: BatchResult | None = None,
    helpers: Helpers | None = None,
    gather_seconds: float = GATHER_SECONDS,
) -> int:
    """Digest batch after batch until the queue is empty or ``stop()`` is
    true; return how many items were digested.

    Same work as repeated digest_once, overlapped: while one batch is
    written here, the next one is decoded here and prepared by ``helpers``
    (one is made, and stopped at the end, when None).
    Only this thread touches the database. ``block_ms`` is how long the
    first read waits for work. A read made with no batch in hand that finds
    less than a batch waits ``gather_seconds`` and reads again, so a trickle
    of events is digested in batches. Errors propagate as from
    digest_once; the batch in hand and the one prepared after it stay
    unacknowledged.
    """
    stop = stop or (lambda: False)
    done = 0
    next_collection = time.monotonic() + COLLECT_EVERY_SECONDS
    # A batch in flight: what the helper prepares, what the writer prepares
    # itself, and whether the helper is the process (whose times count).
    pending: (
        tuple[DecodedBatch, Future[tuple[Prepared, float]], list[Item], bool] | None
    ) = None
    last_full = False
    own_helpers = helpers is None
    helpers = helpers or Helpers()
    try:
        with _collector_paused():
            while True:
                upcoming, suspects = None, []
                # Behind a backlog (the last read came full) the next batch
                # is read while this one is written. Otherwise writing comes
                # first, and the next read gathers for a moment.
                if not stop() and (pending is None or last_full):
                    wait = 0 if pending is not None else block_ms
                    messages = queue.read(consumer, batch_size, block_ms=wait)
                    if pending is None and 0 < len(messages) < batch_size:
                        messages = _gather(
                            queue, consumer, messages, batch_size, gather_seconds
                        )
                    last_full = len(messages) >= batch_size
                    healthy, suspects = _split(messages)
                    if healthy:
                        batch = decode_batch(healthy)
                        executor, theirs, mine = helpers.split(batch.items)
                        future = executor.submit(_timed_prepare, theirs, batch.configs)
                        upcoming = (batch, future, mine, executor is helpers.process)
                if pending is not None:
                    batch, future, mine, in_process = pending
                    # The writer's share first: the helper is still busy.
                    own, own_seconds = _timed_prepare(mine, batch.configs)
                    prepared, seconds = future.result()
                    prepared.extend(own)
                    batch.result.prepare_seconds += seconds + own_seconds
                    result = write_batch(batch, prepared)
                    if in_process:
                        helpers.observe(
                            len(batch.items) - len(mine),
                            seconds,
                            len(batch.items),
                            result.write_seconds,
                        )
                    queue.ack([m.id for m in batch.messages])
                    _count(result, len(batch.messages))
                    done += len(batch.messages)
                    if totals is not None:
                        totals.add(result)
                    if time.monotonic() >= next_collection:
                        # Cyclic garbage (exception tracebacks, mostly)
                        # would pile up over a long stream while the
                        # collector is paused; a pass now and then is cheap.
                        gc.collect()
                        next_collection = time.monotonic() + COLLECT_EVERY_SECONDS
                for message in suspects:
                    result = _digest_alone(queue, message)
                    done += 1
                    if totals is not None:
                        totals.add(result)
                pending = upcoming
                if pending is None and not suspects:
                    return done
    finally:
        if own_helpers:
            helpers.shutdown()


def _gather(
    queue: Queue, consumer: str, messages: list[Message], size: int, seconds: float
) -> list[Message]:
    """Wait ``seconds``, then add what has arrived to ``messages``, up to
    ``size`` in all."""
    if seconds > 0:
        time.sleep(seconds)
    held = {message.id for message in messages}
    more = queue.read(consumer, size - len(messages))
    # A message whose visibility ran out meanwhile comes again; once is enough.
    return messages + [message for message in more if message.id not in held]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while batches run.

    A batch allocates millions of small dicts and strings that reference
    counting frees on its own (normalized events hold no cycles); the
    collector's passes over them cost a quarter of the batch's pure work
    (measured with bench/digest.py). What little cyclic garbage batches
    leave is collected when the pause ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(1)


@dataclass
class PeriodicJob:
    """A function of ``now`` run every ``interval`` seconds."""

    name: str
    interval: float
    run: Callable[[dt.datetime], object]
    next_run: float = 0.0


def periodic_jobs() -> list[PeriodicJob]:
    """Return the jobs the worker runs between batches."""
    from fixtrail.events.retention import enforce_retention, prepare_partitions
    from fixtrail.issues.actions import escalate_expired_ignores, settle_new_issues
    from fixtrail.symbols.retention import enforce_artifact_retention

    return [
        PeriodicJob("partitions", JOBS_INTERVAL_SECONDS, prepare_partitions),
        PeriodicJob("ignore expiry", JOBS_INTERVAL_SECONDS, escalate_expired_ignores),
        PeriodicJob("settle new issues", JOBS_INTERVAL_SECONDS, settle_new_issues),
        PeriodicJob("retention", JOBS_INTERVAL_SECONDS, enforce_retention),
        PeriodicJob(
            "artifact retention", JOBS_INTERVAL_SECONDS, enforce_artifact_retention
        ),
    ]


def run_due_jobs(jobs: list[PeriodicJob], monotonic: float) -> None:
    """Run the jobs whose time has come; a failing job is logged and tried
    again at its next turn."""
    for job in jobs:
        if monotonic < job.next_run:
            continue
        job.next_run = monotonic + job.interval
        try:
            outcome = job.run(dt.datetime.now(dt.UTC))
        except Exception:  # a job's failure must not stop digest
            logger.exception("periodic job %r failed", job.name)
            continue
        logger.info("periodic job %r done: %s", job.name, outcome)


class _StopFlag:
    def __init__(self) -> None:
        self.stopping = False

    def set(self, signum: int, frame: object) -> None:
        logger.info("signal %d received; stopping after the current batch", signum)
        self.stopping = True


def run_worker(consumer: str | None = None) -> int:
    """Digest queued items until SIGTERM or SIGINT; return the exit code."""
    consumer = consumer or default_consumer_name()
    flag = _StopFlag()
    previous = {
        signum: signal.signal(signum, flag.set)
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    queue = open_queue(
        settings.QUEUE_URL, visibility_timeout=settings.QUEUE_VISIBILITY_SECONDS
    )
    jobs = periodic_jobs()
    # Everything loaded so far (Django, the apps) lives as long as the
    # process; freezing it keeps full collections from walking it again.
    gc.collect()
    gc.freeze()
    pause = FIRST_RETRY_SECONDS
    helpers = Helpers()
    # Outbound jobs (alerts, tickets, notes) run beside digest, in a thread.
    runner = JobRunner()
    runner.start()
    logger.info("digest worker %s started", consumer)
    try:
        while not flag.stopping:
            try:
                close_old_connections()
                run_due_jobs(jobs, time.monotonic())
                due = min(job.next_run for job in jobs)
                digest_stream(
                    queue,
                    consumer,
                    block_ms=READ_BLOCK_MS,
                    stop=lambda due=due: flag.stopping or time.monotonic() >= due,
                    helpers=helpers,
                )
                helpers.tidy()
                pause = FIRST_RETRY_SECONDS
            except BrokenExecutor:
                # The helper process died (killed, out of memory): the
                # batches it held were not acknowledged; the next big batch
                # forks a new one.
                logger.exception("digest helper died; starting a new one")
                helpers.forget_process()
            except Exception:  # the loop outlives any failure; see docstring
                logger.exception("digest turn failed; retrying in %.0f s", pause)
                _sleep_unless_stopped(pause, flag)
                pause = min(pause * 2, MAX_RETRY_SECONDS)
    finally:
        runner.stop()
        helpers.shutdown()
        queue.close()
        runner.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    logger.info("digest worker %s stopped", consumer)
    return 0


def _sleep_unless_stopped(seconds: float, flag: _StopFlag) -> None:
    deadline = time.monotonic() + seconds
    while not flag.stopping and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))
