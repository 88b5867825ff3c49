"""Enqueue outbound jobs and run them: durable, at least once, retried.

Steps of one ``run_due`` turn:

1. pick the due jobs: pending ones whose ``run_after`` has come, and running
   ones whose lease has passed (their worker died);
2. claim each with a conditional UPDATE; a job another worker claimed first
   is skipped, so several workers never run the same job at once;
3. run its handler outside any transaction (outside calls must never hold
   the database), then record done, a retry with backoff, or failed.

A job is created in the caller's transaction (an outbox): it exists exactly
when what it reports on was committed, and the runner sees it only after
that commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from fixtrail.jobs.models import Job, PeriodicLease
from fixtrail.jobs.registry import HANDLERS, PERIODIC, PermanentFailure, RetryLater

logger = logging.getLogger(__name__)

# A handler's outside calls have timeouts of a few seconds each; a worker
# that holds a job longer than this has died and the job is claimed again.
LEASE = dt.timedelta(minutes=5)
# Backoff: 30 s, 1 min, 2 min, ... capped at an hour; after MAX_ATTEMPTS
# (about a day of tries in all) the job fails and shows on its owner's page.
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)
MAX_ATTEMPTS = 30
# Jobs claimed per turn; more wait for the next turn a second later.
BATCH = 20
# Longest error text kept on a job (tracker answers can be whole pages).
MAX_ERROR_CHARS = 2000


def enqueue(
    kind: str,
    payload: dict,
    *,
    key: str | None = None,
    owner: str = "",
    delay: dt.timedelta = dt.timedelta(0),
) -> Job:
    """Create a job of ``kind`` (or return the existing one with ``key``).

    Call it inside the transaction that records what the job reports on.
    Raises ValueError for a kind that has no handler, so a typo fails in
    the caller rather than as a job that can never run.
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    fields = {
        "kind": kind,
        "payload": payload,
        "owner": owner,
        "run_after": timezone.now() + delay,
    }
    if key is None:
        return Job.objects.create(**fields)
    job, _ = Job.objects.get_or_create(key=key, defaults=fields)
    return job


def backoff(attempts: int) -> dt.timedelta:
    """Return the pause before try number ``attempts + 1``."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def _claim(job_id: int, now: dt.datetime) -> bool:
    due = Q(state=Job.State.PENDING, run_after__lte=now) | Q(
        state=Job.State.RUNNING, lease_until__lt=now
    )
    claimed = Job.objects.filter(due, pk=job_id).update(
        state=Job.State.RUNNING, lease_until=now + LEASE
    )
    return claimed == 1


def _record(job: Job, now: dt.datetime, error: Exception | None, result: object):
    attempts = job.attempts + 1
    fields: dict = {"attempts": attempts, "lease_until": None}
    if error is None:
        fields |= {
            "state": Job.State.DONE,
            "result": result,
            "last_error": "",
            "finished_at": now,
        }
    else:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        fields["last_error"] = message[:MAX_ERROR_CHARS]
        if isinstance(error, PermanentFailure) or attempts >= MAX_ATTEMPTS:
            fields |= {"state": Job.State.FAILED, "finished_at": now}
        else:
            delay = getattr(error, "delay", None) or backoff(attempts)
            fields |= {"state": Job.State.PENDING, "run_after": now + delay}
    Job.objects.filter(pk=job.pk).update(**fields)


def run_job(job: Job, now: dt.datetime) -> bool:
    """Run one claimed job's handler and record the outcome; return whether
    it succeeded."""
    func = HANDLERS.get(job.kind)
    if func is None:
        _record(job, now, PermanentFailure(f"no handler for {job.kind!r}"), None)
        return False
    try:
        result = func(job.payload)
    except Exception as exc:  # any handler failure is recorded, see _record
        if not isinstance(exc, PermanentFailure | RetryLater):
            logger.exception("job %s failed", job)
        _record(job, timezone.now(), exc, None)
        return False
    _record(job, timezone.now(), None, result)
    return True


def run_due(now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Claim and run up to ``limit`` due jobs; return how many ran."""
    now = now or timezone.now()
    due = Q(state=Job.State.PENDING, run_after__lte=now) | Q(
        state=Job.State.RUNNING, lease_until__lt=now
    )
    ran = 0
    for job in Job.objects.filter(due).order_by("run_after")[:limit]:
        if _claim(job.pk, now):
            run_job(job, now)
            ran += 1
    return ran


def run_until_idle(max_turns: int = 100) -> int:
    """Run due jobs until none is left (for commands and tests); return how
    many ran. Jobs that were retried with a delay are not waited for."""
    total = 0
    for _ in range(max_turns):
        ran = run_due()
        total += ran
        if ran == 0:
            break
    return total


def retry_now(job: Job) -> None:
    """Put a failed or waiting job back to run at once (a page's button)."""
    Job.objects.filter(pk=job.pk).exclude(state=Job.State.RUNNING).update(
        state=Job.State.PENDING, run_after=timezone.now(), finished_at=None
    )


def _take_lease(name: str, seconds: float, now: dt.datetime) -> bool:
    nxt = now + dt.timedelta(seconds=seconds)
    with transaction.atomic():
        lease, created = PeriodicLease.objects.get_or_create(
            name=name, defaults={"next_run_at": nxt}
        )
    if created:
        return True
    taken = PeriodicLease.objects.filter(name=name, next_run_at__lte=now).update(
        next_run_at=nxt
    )
    return taken == 1


def run_periodic(now: dt.datetime | None = None) -> list[str]:
    """Run the periodic tasks whose interval has passed; return their names.

    Each task runs on one worker per interval (a conditional UPDATE of its
    lease). A failure is logged and kept on the lease; the task runs again
    at its next interval.
    """
    now = now or timezone.now()
    ran = []
    for task in list(PERIODIC.values()):
        if not _take_lease(task.name, task.seconds, now):
            continue
        try:
            task.run(now)
            error = ""
        except Exception as exc:  # one task's failure must not stop the rest
            logger.exception("periodic task %r failed", task.name)
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        PeriodicLease.objects.filter(name=task.name).update(last_error=error)
        ran.append(task.name)
    return ran


class JobRunner(threading.Thread):
    """Runs jobs and periodic tasks beside digest in ``fixtrail worker``.

    A thread of its own, so a slow tracker or mail server never holds up
    digest; it has its own database connection.
    """

    # Seconds between turns when there was nothing to do.
    IDLE_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__(name="fixtrail-jobs", daemon=True)
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Ask the runner to finish its current job and end."""
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            ran = 0
            try:
                close_old_connections()
                run_periodic()
                ran = run_due()
            except Exception:  # the runner outlives database hiccups
                logger.exception("job runner turn failed")
            if ran == 0:
                self._stop_event.wait(self.IDLE_SECONDS)
        close_old_connections()
