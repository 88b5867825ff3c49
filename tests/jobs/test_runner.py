from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from fixtrail.jobs import runner
from fixtrail.jobs.models import Job, PeriodicLease
from fixtrail.jobs.registry import (
    PERIODIC,
    PermanentFailure,
    RetryLater,
    handler,
    periodic,
)

CALLS: list[dict] = []
TICKS: list[dt.datetime] = []


@handler("tests.echo")
def echo(payload: dict) -> dict:
    CALLS.append(payload)
    return {"echoed": payload.get("n")}


@handler("tests.flaky")
def flaky(payload: dict) -> None:
    CALLS.append(payload)
    raise ConnectionError("tracker unreachable")


@handler("tests.refused")
def refused(payload: dict) -> None:
    raise PermanentFailure("401: bad token")


@handler("tests.slow_down")
def slow_down(payload: dict) -> None:
    raise RetryLater("429: rate limited", delay=dt.timedelta(minutes=7))


@pytest.fixture(autouse=True)
def fresh_calls():
    CALLS.clear()
    TICKS.clear()
    yield
    PERIODIC.pop("tests.tick", None)


def test_it_runs_a_job_and_keeps_its_result(db):
    job = runner.enqueue("tests.echo", {"n": 1})
    assert runner.run_due() == 1
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.result == {"echoed": 1}
    assert job.attempts == 1
    assert job.finished_at is not None
    assert CALLS == [{"n": 1}]


def test_it_makes_one_job_per_key(db):
    first = runner.enqueue("tests.echo", {"n": 1}, key="ticket:issue-7")
    second = runner.enqueue("tests.echo", {"n": 2}, key="ticket:issue-7")
    assert first.pk == second.pk
    runner.run_until_idle()
    assert CALLS == [{"n": 1}]


def test_it_refuses_a_kind_without_handler(db):
    with pytest.raises(ValueError, match="no handler for job kind 'tests.nope'"):
        runner.enqueue("tests.nope", {})
    assert Job.objects.count() == 0


def test_it_retries_a_failure_with_backoff(db):
    job = runner.enqueue("tests.flaky", {"n": 1})
    before = timezone.now()
    runner.run_due()
    job.refresh_from_db()
    assert job.state == Job.State.PENDING
    assert job.attempts == 1
    assert job.last_error == "ConnectionError: tracker unreachable"
    assert job.run_after >= before + runner.FIRST_RETRY
    # Not due yet: nothing runs on the next turn.
    assert runner.run_due() == 0
    assert len(CALLS) == 1


def test_it_doubles_the_backoff_up_to_the_cap():
    assert runner.backoff(1) == dt.timedelta(seconds=30)
    assert runner.backoff(2) == dt.timedelta(seconds=60)
    assert runner.backoff(3) == dt.timedelta(seconds=120)
    assert runner.backoff(20) == runner.MAX_RETRY


def test_it_fails_a_job_after_the_last_attempt(db):
    job = runner.enqueue("tests.flaky", {})
    Job.objects.filter(pk=job.pk).update(attempts=runner.MAX_ATTEMPTS - 1)
    runner.run_due()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.attempts == runner.MAX_ATTEMPTS


def test_it_fails_a_permanent_failure_at_once(db):
    job = runner.enqueue("tests.refused", {}, owner="integrations.gitlab:3")
    runner.run_due()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.last_error == "401: bad token"
    assert job.attempts == 1


def test_it_waits_as_long_as_the_handler_asks(db):
    job = runner.enqueue("tests.slow_down", {})
    now = timezone.now()
    runner.run_due(now)
    job.refresh_from_db()
    assert job.state == Job.State.PENDING
    assert job.last_error == "429: rate limited"
    assert job.run_after >= now + dt.timedelta(minutes=7)


def test_it_claims_again_a_job_whose_worker_died(db):
    job = runner.enqueue("tests.echo", {"n": 3})
    past = timezone.now() - dt.timedelta(minutes=10)
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, lease_until=past + runner.LEASE
    )
    assert runner.run_due() == 1
    job.refresh_from_db()
    assert job.state == Job.State.DONE


def test_it_leaves_a_job_another_worker_holds(db):
    job = runner.enqueue("tests.echo", {"n": 4})
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, lease_until=timezone.now() + runner.LEASE
    )
    assert runner.run_due() == 0
    assert CALLS == []


def test_it_retries_a_failed_job_on_demand(db):
    job = runner.enqueue("tests.refused", {})
    runner.run_due()
    runner.retry_now(job)
    job.refresh_from_db()
    assert job.state == Job.State.PENDING
    assert job.finished_at is None


def test_it_runs_a_periodic_task_once_per_interval(db):
    periodic("tests.tick", seconds=60)(TICKS.append)
    now = timezone.now()
    assert "tests.tick" in runner.run_periodic(now)
    # A second worker at the same moment finds the lease taken.
    assert "tests.tick" not in runner.run_periodic(now)
    assert "tests.tick" in runner.run_periodic(now + dt.timedelta(seconds=61))
    ran_at = list(TICKS)
    assert ran_at == [now, now + dt.timedelta(seconds=61)]


def test_it_keeps_a_periodic_failure_on_its_lease(db):
    def broken(now: dt.datetime) -> None:
        raise RuntimeError("spike query failed")

    periodic("tests.tick", seconds=60)(broken)
    runner.run_periodic(timezone.now())
    lease = PeriodicLease.objects.get(name="tests.tick")
    assert lease.last_error == "RuntimeError: spike query failed"


def test_the_runner_thread_runs_queued_jobs(transactional_db):
    job = runner.enqueue("tests.echo", {"n": 5})
    thread = runner.JobRunner()
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.state == Job.State.DONE:
                break
            time.sleep(0.05)
    finally:
        thread.stop()
        thread.join(5)
    assert job.state == Job.State.DONE
    assert thread.is_alive() is False
