"""Daily partitions of the event table on PostgreSQL.

The table events_event is range-partitioned on ``received_at`` (see the
events migration 0001), one partition per UTC day::

    events_event_p20260101   FOR VALUES FROM ('2026-01-01 00:00+00')
                                         TO ('2026-01-02 00:00+00')

There is deliberately no default partition: a row that lands in one would
stop the partition for its day from ever being created. Instead digest
calls ensure_partitions() for the days of its batch before inserting, and
the periodic job creates PARTITIONS_AHEAD_DAYS ahead, so a partition almost
always exists already. Retention drops the partitions that lie wholly
before the oldest cut-off of any project.

On SQLite every function here does nothing and reports nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.db import DatabaseError, connection, transaction

# The periodic job keeps this many future days' partitions ready, so digest
# rarely has to create one while a batch waits; the job also runs when a
# worker starts, so a long outage is covered too.
PARTITIONS_AHEAD_DAYS = 3

PARENT_TABLE = "events_event"
_NAME = re.compile(r"^events_event_p(\d{8})$")


def is_partitioned() -> bool:
    """Return True when the event table is partitioned (PostgreSQL)."""
    return connection.vendor == "postgresql"


def partition_name(day: dt.date) -> str:
    """Return the table name of the partition holding ``day``."""
    return f"{PARENT_TABLE}_p{day:%Y%m%d}"


def existing_partitions() -> dict[dt.date, str]:
    """Return the event table's partitions by day (one catalog query)."""
    if not is_partitioned():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = %s",
            [PARENT_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            found[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return found


def ensure_partitions(days: Iterable[dt.date]) -> list[dt.date]:
    """Create the partitions for ``days`` that do not exist yet.

    Returns the days whose partitions this call created. Each creation runs
    in its own (nested) transaction so the short ACCESS EXCLUSIVE lock it
    takes on the parent table is not held through a digest batch. Two
    processes racing to create the same day are both fine: the loser's
    error is swallowed once the partition is seen to exist.
    """
    wanted = set(days)
    if not wanted or not is_partitioned():
        return []
    missing = sorted(wanted - existing_partitions().keys())
    created = []
    for day in missing:
        name = partition_name(day)
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        end = start + dt.timedelta(days=1)
        try:
            # DDL takes no bind parameters; the bounds are built from a date.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF '
                    f"\"{PARENT_TABLE}\" FOR VALUES FROM ('{start.isoformat()}')"
                    f" TO ('{end.isoformat()}')"
                )
        except DatabaseError:
            if day not in existing_partitions():
                raise
            continue
        created.append(day)
    return created


def ensure_partitions_ahead(today: dt.date) -> list[dt.date]:
    """Create the partitions for ``today`` and PARTITIONS_AHEAD_DAYS after."""
    return ensure_partitions(
        today + dt.timedelta(days=offset) for offset in range(PARTITIONS_AHEAD_DAYS + 1)
    )


def drop_partitions_before(cutoff: dt.date) -> list[dt.date]:
    """Drop every partition whose whole day lies before ``cutoff``.

    Returns the days dropped. Dropping a partition is instant whatever its
    size, which is why retention prefers it to DELETE.
    """
    dropped = []
    for day, name in sorted(existing_partitions().items()):
        if day < cutoff:
            with transaction.atomic(), connection.cursor() as cursor:
                # Rows written earlier in an enclosing transaction leave
                # deferred foreign-key checks pending, and PostgreSQL will
                # not drop a table with pending checks: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            dropped.append(day)
    return dropped
