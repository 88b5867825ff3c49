"""Daily partitions of the event table (PostgreSQL only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from fixtrail.events import partitions

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the event table is partitioned on PostgreSQL only")


def _partition_of(event_table_row_moment: dt.datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM events_event WHERE received_at = %s",
            [event_table_row_moment],
        )
        return cursor.fetchone()[0]


def test_it_creates_missing_partitions_once():
    first = partitions.ensure_partitions([DAY, DAY + dt.timedelta(days=1)])
    second = partitions.ensure_partitions([DAY])

    assert first == [DAY, DAY + dt.timedelta(days=1)]
    assert second == []
    assert partitions.existing_partitions()[DAY] == "events_event_p20260302"


def test_it_creates_partitions_ahead():
    created = partitions.ensure_partitions_ahead(DAY)

    assert created == [DAY + dt.timedelta(days=n) for n in range(4)]


def test_it_drops_partitions_before_a_day():
    partitions.ensure_partitions([DAY - dt.timedelta(days=1), DAY])

    dropped = partitions.drop_partitions_before(DAY)

    assert dropped == [DAY - dt.timedelta(days=1)]
    assert list(partitions.existing_partitions()) == [DAY]


def test_it_stores_each_event_in_the_partition_of_its_day(project, settings):
    from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

    queue_payloads(project, [python_error()], received_at=T0)

    digest_queued()

    assert _partition_of(T0) == f"events_event_p{T0:%Y%m%d}"
