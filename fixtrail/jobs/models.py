"""Durable outbound jobs and the leases of periodic tasks."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def _new_key() -> str:
    return uuid.uuid4().hex


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # The handler's registered name, e.g. "integrations.create_ticket".
    kind = models.CharField(max_length=64)
    # Idempotency key: enqueueing the same key twice makes one job, so a
    # retried request never files two tickets or posts two notes.
    key = models.CharField(max_length=200, unique=True, default=_new_key)
    payload = models.JSONField(default=dict)
    # The object whose page shows this job's failures ("alerts.rule:12").
    owner = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    run_after = models.DateTimeField(default=timezone.now)
    # A running job whose lease has passed belongs to a worker that died;
    # another worker may claim it again.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the handler returned (e.g. the created ticket's URL).
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # run_due: the pending jobs whose time has come, oldest first.
            models.Index(fields=["state", "run_after"], name="job_due_idx"),
            # Pages that show the failures of one rule or integration.
            models.Index(fields=["owner", "state"], name="job_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"


class PeriodicLease(models.Model):
    """When a periodic task may next run, shared by every worker, so a task
    runs once per interval however many workers there are."""

    name = models.CharField(max_length=64, primary_key=True)
    next_run_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
