"""What the job runner knows how to run.

An app registers its handlers in a module that its ``AppConfig.ready``
imports::

    from fixtrail.jobs.registry import PermanentFailure, handler, periodic

    @handler("alerts.deliver")
    def deliver(payload: dict) -> dict | None:
        ...  # raise PermanentFailure("bad webhook URL") to stop retrying

    @periodic("alerts.frequency", seconds=60)
    def evaluate_frequency(now: datetime) -> object:
        ...

A handler receives the job's payload and returns a JSON-able result (kept
on the job) or None. Any exception other than PermanentFailure is retried
with backoff; RetryLater chooses its own delay (e.g. a tracker's
Retry-After). Periodic tasks receive ``now`` and run once per interval
across all workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[dict], object]


class JobError(Exception):
    """A handler's failure, with a message for the owner's page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermanentFailure(JobError):
    """Retrying cannot help (bad credentials, a deleted target)."""


class RetryLater(JobError):
    """Try again after ``delay`` (e.g. the service's Retry-After)."""

    def __init__(self, message: str, delay: dt.timedelta | None = None) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    seconds: float
    run: Callable[[dt.datetime], object]


HANDLERS: dict[str, Handler] = {}
PERIODIC: dict[str, PeriodicTask] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of ``kind``."""

    def register(func: Handler) -> Handler:
        if HANDLERS.get(kind, func) is not func:
            raise ValueError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = func
        return func

    return register


def periodic(
    name: str, *, seconds: float
) -> Callable[[Callable[[dt.datetime], object]], Callable[[dt.datetime], object]]:
    """Register the decorated function of ``now`` to run every ``seconds``."""

    def register(
        func: Callable[[dt.datetime], object],
    ) -> Callable[[dt.datetime], object]:
        PERIODIC[name] = PeriodicTask(name, seconds, func)
        return func

    return register
