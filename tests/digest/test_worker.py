"""The digest worker: its unit of work, its periodic jobs and its loop."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection

from fixtrail.digest.batches import TRANSIENT_DATABASE_ERRORS
from fixtrail.digest.prepare import BatchResult
from fixtrail.digest.worker import (
    ISOLATE_AFTER_DELIVERIES,
    MAX_WRITER_SHARE,
    Helpers,
    PeriodicJob,
    digest_once,
    digest_stream,
    run_due_jobs,
    run_worker,
    writer_share,
)
from fixtrail.events.models import Event, ProcessingError
from fixtrail.issues.models import Issue
from fixtrail.queue import open_queue
from tests.digest.queueing import python_error, queue_bodies, queue_payloads

# The helper process is forked; elsewhere batches are prepared in a thread.
needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
# How long the loop test waits for the worker at most before failing.
WORKER_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def queue():
    handle = open_queue(settings.QUEUE_URL)
    yield handle
    handle.close()


def test_it_finds_no_work_in_an_empty_queue(db, queue):
    assert digest_once(queue, "test", 500) == 0


def test_it_digests_and_acknowledges_a_batch(project, queue):
    queue_payloads(project, [python_error(), python_error()])

    count = digest_once(queue, "test", 500)

    assert count == 2
    assert Event.objects.count() == 2
    assert queue.backlog().size == 0


def test_it_takes_at_most_max_items(project, queue):
    queue_payloads(project, [python_error()] * 3)

    first = digest_once(queue, "test", 2)
    second = digest_once(queue, "test", 2)

    assert (first, second) == (2, 1)
    assert Issue.objects.get().times_seen == 3


def test_it_survives_poison_items(project, queue):
    queue_bodies([b"\xff\xfe garbage without a header"])
    queue_payloads(project, [b"\x00\x01", b'{"exception": 5}', python_error()])

    count = digest_once(queue, "test", 500)

    assert count == 4
    assert queue.backlog().size == 0
    assert Event.objects.count() == 2
    assert ProcessingError.objects.count() == 1


@pytest.fixture
def hasty_queue():
    """A queue handle whose short visibility timeout hands out again, at
    once, whatever was read and not acknowledged."""
    handle = open_queue(settings.QUEUE_URL, visibility_timeout=0.05)
    yield handle
    handle.close()


def _deliver_without_ack(queue, times: int) -> None:
    """Hand the queued item out ``times`` times, as to consumers that
    crashed before acknowledging it."""
    for _ in range(times):
        assert len(queue.read("crashed", 10)) == 1
        time.sleep(0.1)


def test_it_digests_an_item_delivered_many_times_on_its_own(project, hasty_queue):
    queue_payloads(project, [python_error()])
    _deliver_without_ack(hasty_queue, ISOLATE_AFTER_DELIVERIES - 1)
    queue_payloads(project, [python_error(type_="KeyError")])

    count = digest_once(hasty_queue, "test", 500)

    assert count == 2
    assert Issue.objects.count() == 2


def test_it_leaves_a_batch_unacknowledged_when_the_database_fails(project, queue):
    queue_payloads(project, [python_error()])

    # Stand in for a database that went away: every query fails.
    with (
        connection.execute_wrapper(_refusing),
        pytest.raises(OperationalError, match="database is gone"),
    ):
        digest_once(queue, "test", 500)

    assert queue.backlog().size == 1
    assert Event.objects.count() == 0


def _refusing(execute, sql, params, many, context):
    raise OperationalError("database is gone")


def test_it_does_not_blame_an_item_for_a_transient_database_error(project, queue):
    queue_payloads(project, [python_error()])

    # Reads work, but every write of events fails the way a locked SQLite
    # file or a PostgreSQL serialization failure does: no item is at fault,
    # so none may become a processing error and be acknowledged.
    with _events_unwritable(), pytest.raises(TRANSIENT_DATABASE_ERRORS):
        digest_once(queue, "test", 500)

    assert queue.backlog().size == 1
    assert ProcessingError.objects.count() == 0
    assert Event.objects.count() == 0


@contextlib.contextmanager
def _events_unwritable():
    if connection.vendor == "postgresql":
        # Digest writes events with COPY on a raw cursor, out of reach of
        # execute wrappers: let the database itself answer with SQLSTATE
        # 40001, which psycopg raises as SerializationFailure.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION serialization_failure() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'could not serialize access' "
                "USING ERRCODE = 'serialization_failure'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER serialization_failure BEFORE INSERT ON events_event "
                "FOR EACH ROW EXECUTE FUNCTION serialization_failure()"
            )
        yield
        return
    with connection.execute_wrapper(_events_locked):
        yield


def _events_locked(execute, sql, params, many, context):
    if "events_event" in sql and sql.lstrip().upper().startswith("INSERT"):
        raise OperationalError("database is locked")
    return execute(sql, params, many, context)


def test_it_streams_batches_until_the_queue_is_empty(project, queue):
    queue_payloads(project, [python_error()] * 5)
    totals = BatchResult()

    count = digest_stream(queue, "test", batch_size=2, totals=totals)

    assert count == 5
    assert (totals.messages, totals.events_stored) == (5, 5)
    assert Issue.objects.get().times_seen == 5
    assert queue.backlog().size == 0


def _after_reads(reads: int):
    """Return a stop function that lets digest_stream read ``reads`` times."""
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > reads

    return stop


def test_it_streams_until_told_to_stop(project, queue):
    queue_payloads(project, [python_error()] * 5)

    count = digest_stream(queue, "test", batch_size=2, stop=_after_reads(1))

    # The batch read before the stop is finished and acknowledged.
    assert count == 2
    assert Event.objects.count() == 2
    assert queue.backlog().size == 3


def test_it_streams_poison_items_into_errors(project, queue):
    queue_bodies([b"no header"])
    queue_payloads(project, [b"[]", python_error(), python_error(type_="KeyError")])

    count = digest_stream(queue, "test", batch_size=2)

    assert count == 4
    assert Issue.objects.count() == 2
    assert ProcessingError.objects.count() == 1
    assert queue.backlog().size == 0


def test_it_streams_items_delivered_many_times_alone(project, hasty_queue):
    queue_payloads(project, [python_error()])
    _deliver_without_ack(hasty_queue, ISOLATE_AFTER_DELIVERIES - 1)
    queue_payloads(project, [python_error(type_="KeyError")])

    # One read only: a second one would find the batch in hand handed out
    # again by the short timeout.
    count = digest_stream(hasty_queue, "test", stop=_after_reads(1))

    assert count == 2
    assert Issue.objects.count() == 2


def test_it_leaves_the_streamed_batches_unacknowledged_when_the_database_fails(
    project, queue
):
    queue_payloads(project, [python_error()] * 3)

    with (
        connection.execute_wrapper(_refusing),
        pytest.raises(OperationalError, match="database is gone"),
    ):
        digest_stream(queue, "test", batch_size=2)

    assert queue.backlog().size == 3


def _counting_hash_lookups(counter: list):
    # Each batch looks its events' grouping hashes up in one query (its
    # bulk writes go through the driver's cursor, which no wrapper sees).
    def wrapper(execute, sql, params, many, context):
        if 'FROM "issues_issuehash"' in sql:
            counter.append(sql)
        return execute(sql, params, many, context)

    return wrapper


def test_it_gathers_a_partial_batch_before_digesting_it(project, queue):
    queue_payloads(project, [python_error()])
    # Two more arrive while the first one waits for company.
    later = threading.Timer(0.2, queue_payloads, (project, [python_error()] * 2))
    lookups: list = []
    started = time.monotonic()

    later.start()
    with connection.execute_wrapper(_counting_hash_lookups(lookups)):
        count = digest_stream(queue, "test", batch_size=10, gather_seconds=1.0)
    later.join()

    assert count == 3
    assert time.monotonic() - started >= 1.0
    # One batch: one lookup for the three events.
    assert len(lookups) == 1


def test_it_does_not_wait_while_behind_a_backlog(project, queue):
    queue_payloads(project, [python_error()] * 5)
    started = time.monotonic()

    count = digest_stream(queue, "test", batch_size=2, gather_seconds=30)

    assert count == 5
    assert time.monotonic() - started < 30
    assert queue.backlog().size == 0


def test_it_prepares_small_batches_without_a_helper_process(project, queue):
    queue_payloads(project, [python_error()] * 4)
    helpers = Helpers(process_min_items=3)
    try:
        count = digest_stream(queue, "test", batch_size=2, helpers=helpers)

        assert count == 4
        assert Issue.objects.get().times_seen == 4
        assert helpers.process is None
        assert multiprocessing.active_children() == []
    finally:
        helpers.shutdown()


@needs_fork
def test_it_forks_a_helper_for_big_batches_and_stops_it_when_idle(project, queue):
    queue_payloads(project, [python_error()] * 4)
    helpers = Helpers(process_min_items=2, idle_seconds=3600)
    try:
        count = digest_stream(queue, "test", batch_size=2, helpers=helpers)

        assert count == 4
        assert Issue.objects.get().times_seen == 4
        assert isinstance(helpers.process, ProcessPoolExecutor)
        (child,) = multiprocessing.active_children()
        helpers.tidy()  # not idle long enough yet
        assert child.is_alive()

        helpers.idle_seconds = 0
        helpers.tidy()

        assert helpers.process is None
        child.join(10)
        assert not child.is_alive()
    finally:
        helpers.shutdown()


@pytest.mark.parametrize(
    ("prepare_per_item", "write_per_item", "share"),
    [
        (0.0, 0.0, 0.0),  # nothing measured yet
        (270e-6, 270e-6, 0.0),
        (100e-6, 180e-6, 0.0),  # writing is the slower part
        (300e-6, 100e-6, 1 / 3),  # both then take 200 us per item
        (300e-6, 0.0, MAX_WRITER_SHARE),
    ],
)
def test_it_gives_the_writer_the_share_that_finishes_both_together(
    prepare_per_item, write_per_item, share
):
    assert writer_share(prepare_per_item, write_per_item) == pytest.approx(share)


@needs_fork
def test_it_splits_only_the_helper_process_batches(db):
    helpers = Helpers(process_min_items=4)
    helpers.prepare_per_item, helpers.write_per_item = 300e-6, 100e-6
    items = [(str(n), {}, b"") for n in range(9)]
    try:
        executor, theirs, mine = helpers.split(items[:3])
        assert (executor, theirs, mine) == (helpers.thread, items[:3], [])

        executor, theirs, mine = helpers.split(items)
        assert executor is helpers.process
        assert (theirs, mine) == (items[:6], items[6:])
    finally:
        helpers.shutdown()


@needs_fork
def test_it_digests_a_batch_prepared_in_two_places(project, queue):
    errors = [f"Error{n}" for n in range(8)]
    queue_payloads(project, [python_error(type_=name) for name in errors])
    helpers = Helpers(process_min_items=2)
    # The writer prepares the last 3 of 8 items of the first batch.
    helpers.prepare_per_item, helpers.write_per_item = 400e-6, 100e-6
    try:
        count = digest_stream(queue, "test", batch_size=8, helpers=helpers)

        assert count == 8
        assert sorted(Issue.objects.values_list("type", flat=True)) == errors
        assert sorted(Event.objects.values_list("issue__type", flat=True)) == errors
        # Both parts' times were taken in for the next batch.
        assert helpers.prepare_per_item != 400e-6
        assert helpers.write_per_item != 100e-6
    finally:
        helpers.shutdown()


def test_it_runs_due_jobs_and_survives_a_failing_one():
    runs = []

    def failing(now: dt.datetime) -> None:
        raise RuntimeError("job broke")

    jobs = [
        PeriodicJob("broken", 60.0, failing),
        PeriodicJob("counting", 60.0, runs.append),
    ]

    run_due_jobs(jobs, 1000.0)
    run_due_jobs(jobs, 1030.0)
    run_due_jobs(jobs, 1060.0)

    assert len(runs) == 2
    assert [job.next_run for job in jobs] == [1120.0, 1120.0]


def test_it_drains_the_queue_with_the_digest_command(project, capsys):
    queue_payloads(project, [python_error()] * 3)

    call_command("digest")

    assert capsys.readouterr().out == "Digested 3 queued items.\n"
    assert Event.objects.count() == 3


def test_it_cleans_up_with_the_cleanup_command(project, capsys):
    call_command("cleanup")

    assert capsys.readouterr().out == (
        "Dropped 0 partitions, deleted 0 events and 0 attachments; "
        "0 ignored issues came back.\n"
    )


@pytest.mark.django_db(transaction=True)
def test_it_finishes_its_batch_and_stops_on_sigterm(project):
    queue_payloads(project, [python_error()] * 5)
    watcher = open_queue(settings.QUEUE_URL)
    previous = signal.getsignal(signal.SIGTERM)

    def stop_when_drained() -> None:
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
        while watcher.backlog().size and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_drained)
    stopper.start()
    try:
        code = run_worker("test-worker")
    finally:
        stopper.join()
        watcher.close()

    assert code == 0
    assert Event.objects.count() == 5
    # The worker puts the handlers it found back.
    assert signal.getsignal(signal.SIGTERM) is previous
