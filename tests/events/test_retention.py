"""Retention: the oldest events go; issue counts stay."""

from __future__ import annotations

import datetime as dt

from fixtrail.events import partitions
from fixtrail.events.models import Attachment, Event, EventKey, ProcessingError
from fixtrail.events.retention import enforce_retention
from fixtrail.issues.models import HourlyCount, Issue
from fixtrail.projects.models import Project
from tests.builders import make_project
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

DAY = dt.timedelta(days=1)


def _events_at(project, *moments: dt.datetime) -> list[str]:
    ids = []
    for moment in moments:
        ids += queue_payloads(project, [python_error()], received_at=moment)
        digest_queued(now=moment)
    return ids


def test_it_deletes_events_older_than_the_project_keeps_them(project):
    Project.objects.filter(pk=project.pk).update(retention_days=30)
    old, recent = _events_at(project, T0 - 40 * DAY, T0 - 10 * DAY)

    result = enforce_retention(T0)

    assert list(Event.objects.values_list("event_id", flat=True)) == [recent]
    assert list(EventKey.objects.values_list("event_id", flat=True)) == [recent]
    assert result.events_deleted == (0 if partitions.is_partitioned() else 1)
    assert result.partitions_dropped == (1 if partitions.is_partitioned() else 0)
    issue = Issue.objects.get()
    # Counts stay true: both events happened.
    assert issue.times_seen == 2
    assert issue.first_seen == T0 - 40 * DAY
    assert list(HourlyCount.objects.values_list("hour", flat=True)) == [T0 - 10 * DAY]


def test_it_keeps_at_most_the_project_maximum_of_events(project):
    Project.objects.filter(pk=project.pk).update(max_events_stored=2)
    ids = _events_at(project, T0 - 3 * DAY, T0 - 2 * DAY, T0 - DAY, T0)

    result = enforce_retention(T0)

    assert result.events_deleted == 2
    assert sorted(Event.objects.values_list("event_id", flat=True)) == sorted(ids[2:])
    assert sorted(EventKey.objects.values_list("event_id", flat=True)) == sorted(
        ids[2:]
    )
    assert Issue.objects.get().times_seen == 4


def test_it_lets_an_event_be_stored_again_once_retention_removed_it(project):
    Project.objects.filter(pk=project.pk).update(retention_days=30)
    queue_payloads(
        project, [python_error()], received_at=T0 - 40 * DAY, event_id="a" * 32
    )
    digest_queued(now=T0 - 40 * DAY)
    enforce_retention(T0)

    queue_payloads(project, [python_error()], received_at=T0, event_id="a" * 32)
    result = digest_queued(now=T0)

    assert result.events_stored == 1
    assert Issue.objects.get().times_seen == 2


def test_it_applies_each_project_its_own_age(project, org):
    Project.objects.filter(pk=project.pk).update(retention_days=30)
    other = make_project(org, "frontend", retention_days=90)
    _events_at(project, T0 - 40 * DAY)
    [kept] = _events_at(other, T0 - 40 * DAY)

    result = enforce_retention(T0)

    # The day's partition also holds the other project's event: it stays,
    # and the first project's event goes row by row.
    assert result.partitions_dropped == 0
    assert result.events_deleted == 1
    assert list(Event.objects.values_list("event_id", flat=True)) == [kept]


def test_it_removes_old_attachments_and_errors(project, settings):
    Project.objects.filter(pk=project.pk).update(retention_days=30)
    path = settings.FIXTRAIL_DATA_DIR / "attachments" / "1" / "old.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    Attachment.objects.create(
        project=project,
        event_id="a" * 32,
        name="old.txt",
        path="attachments/1/old.txt",
        created_at=T0 - 31 * DAY,
    )
    Attachment.objects.create(
        project=project,
        event_id="b" * 32,
        name="new.txt",
        path="attachments/1/new",
        created_at=T0,
    )
    ProcessingError.objects.create(
        project=project, error="old", created_at=T0 - 31 * DAY
    )

    result = enforce_retention(T0)

    assert result.attachments_deleted == 1
    assert list(Attachment.objects.values_list("name", flat=True)) == ["new.txt"]
    assert path.exists() is False
    assert ProcessingError.objects.count() == 0


def test_it_is_idempotent(project):
    Project.objects.filter(pk=project.pk).update(retention_days=30)
    _events_at(project, T0 - 40 * DAY, T0)
    enforce_retention(T0)

    result = enforce_retention(T0)

    assert (result.events_deleted, result.partitions_dropped) == (0, 0)
    assert Event.objects.count() == 1
