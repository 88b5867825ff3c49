"""Soak: millions of events through PostgreSQL's day-partitioned event table,
with retention at one day, over simulated days. Does disk use stay flat?

    .venv/bin/python bench/soak.py [--events 10000000] [--days 10]
        [--database fixtrail_soak] [--keep]

Needs PostgreSQL (FIXTRAIL_SOAK_ADMIN_URL, default
postgres://postgres@127.0.0.1:5432/postgres); the database named by
``--database`` is dropped and created anew, and dropped again at the end
unless ``--keep``.

1. migrates the database and makes one organization, one project with
   ``retention_days = 1``, and 200 issues;
2. for each simulated day: runs the worker's partition job
   (``prepare_partitions``) with that day as "now", inserts the day's share
   of events spread over the day, with their event keys and hourly counts,
   as digest writes them (server-side ``INSERT ... SELECT`` from
   ``generate_series``, so the client is not the limit), then runs the
   worker's retention job (``enforce_retention``) at the end of the day and
   ``VACUUM`` as autovacuum would;
3. after each day, records the rows and partitions left and the database's
   size on disk.

It prints one line per day to stderr and one JSON line at the end: insert
and retention times, sizes per day, and ``flat``: whether the database
after each day's retention stays within 25% of its size after day 2 (the
first day with a full day behind it).

What it does not do: the events do not go through ingest and digest (their
throughput is bench/e2e.py's and bench/digest.py's); the point here is what
months of that traffic do to the tables and the disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ISSUES = 200
USERS = 1000
# A normalized, zstd-compressed event is 1-3 KB; a fixed blob of this size
# stands for it (its content does not matter to the table's growth).
EVENT_BYTES = 1500
# Rows per INSERT: a day's share goes in a few statements of this size.
INSERT_ROWS = 500_000
FLAT_TOLERANCE = 0.25


def _urls(database: str) -> tuple[str, str]:
    admin = os.environ.get(
        "FIXTRAIL_SOAK_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
    )
    parts = urlsplit(admin)
    return admin, urlunsplit(parts._replace(path=f"/{database}"))


def _recreate(admin: str, database: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def _drop(admin: str, database: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _setup_django(url: str) -> None:
    os.environ["FIXTRAIL_DATABASE_URL"] = url
    os.environ.setdefault(
        "FIXTRAIL_DATA_DIR", tempfile.mkdtemp(prefix="fixtrail-soak-")
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _make_project(start: dt.datetime) -> tuple[int, list[int]]:
    from django.core.management import call_command

    from fixtrail.accounts.models import Organization
    from fixtrail.issues.models import Issue
    from fixtrail.projects.models import Project

    call_command("migrate", interactive=False, verbosity=0)
    org = Organization.objects.create(slug="soak", name="Soak")
    project = Project.objects.create(
        organization=org,
        slug="shop",
        name="Shop",
        platform="python",
        retention_days=1,
        # The age limit is under test, not the count limit.
        max_events_stored=2**31 - 1,
    )
    issues = Issue.objects.bulk_create(
        Issue(
            project=project,
            short_id=n + 1,
            title=f"RuntimeError: checkout failed in step {n}",
            culprit="shop.checkout in pay",
            type="RuntimeError",
            value=f"checkout failed in step {n}",
            first_seen=start,
            last_seen=start,
            times_seen=0,
        )
        for n in range(ISSUES)
    )
    project.next_short_id = ISSUES + 1
    project.save(update_fields=["next_short_id"])
    return project.pk, [issue.pk for issue in issues]


_INSERT_EVENTS = """
INSERT INTO events_event (project_id, issue_id, event_id, timestamp, received_at,
    title, level, release, environment, user_identity, grouping_hash, data, size)
SELECT %(project)s, (%(issues)s::bigint[])[1 + g %% %(issue_count)s],
    md5(%(salt)s || g::text), t, t, 'RuntimeError: checkout failed', 'error',
    'shop@1.0', 'production', 'u' || (g %% %(users)s),
    md5((g %% %(issue_count)s)::text), %(blob)s, %(size)s
FROM generate_series(%(first)s, %(last)s) AS g, LATERAL (
    SELECT %(day)s::timestamptz + g::bigint * %(step)s * interval '1 microsecond'
) AS x(t)
"""

_INSERT_KEYS = """
INSERT INTO events_eventkey (project_id, event_id, received_at)
SELECT %(project)s, md5(%(salt)s || g::text),
    %(day)s::timestamptz + g::bigint * %(step)s * interval '1 microsecond'
FROM generate_series(%(first)s, %(last)s) AS g
"""

_HOURLY = """
INSERT INTO issues_hourlycount (issue_id, hour, count)
SELECT (%(issues)s::bigint[])[1 + i], %(day)s::timestamptz + h * interval '1 hour',
    %(per_hour)s
FROM generate_series(0, %(issue_count)s - 1) AS i, generate_series(0, 23) AS h
ON CONFLICT (issue_id, hour) DO UPDATE
    SET count = issues_hourlycount.count + EXCLUDED.count
"""


def _insert_day(
    conn: psycopg.Connection, project: int, issues: list[int], day: dt.datetime,
    index: int, count: int,
) -> None:  # fmt: skip
    step = int(86_400_000_000 / count)
    blob = os.urandom(EVENT_BYTES)
    for first in range(0, count, INSERT_ROWS):
        last = min(count, first + INSERT_ROWS) - 1
        params = {
            "project": project, "issues": issues, "issue_count": len(issues),
            "users": USERS, "salt": f"d{index}-", "blob": blob, "size": EVENT_BYTES * 6,
            "first": first, "last": last, "day": day, "step": step,
        }  # fmt: skip
        with conn.transaction():
            conn.execute(_INSERT_EVENTS, params)
            conn.execute(_INSERT_KEYS, params)
    with conn.transaction():
        conn.execute(
            _HOURLY,
            {"issues": issues, "issue_count": len(issues), "day": day,
             "per_hour": max(1, count // (24 * len(issues)))},
        )  # fmt: skip


def _sizes(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        """
        SELECT pg_database_size(current_database()),
            (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class p ON p.oid = i.inhparent
              WHERE p.relname = 'events_event'),
            pg_total_relation_size('events_eventkey'),
            pg_total_relation_size('issues_hourlycount'),
            (SELECT count(*) FROM events_event),
            (SELECT count(*) FROM events_eventkey),
            (SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              WHERE p.relname = 'events_event')
        """
    ).fetchone()
    names = ["database", "events", "event_keys", "hourly", "event_rows",
             "key_rows", "partitions"]  # fmt: skip
    return dict(zip(names, row, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--database", default="fixtrail_soak")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    admin, url = _urls(args.database)
    _recreate(admin, args.database)
    _setup_django(url)
    from fixtrail.events.retention import enforce_retention, prepare_partitions

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    project, issues = _make_project(start)
    per_day = args.events // args.days
    days = []
    began = time.monotonic()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for index in range(args.days):
                day = start + dt.timedelta(days=index)
                prepare_partitions(day)
                t0 = time.monotonic()
                _insert_day(conn, project, issues, day, index, per_day)
                t1 = time.monotonic()
                before = _sizes(conn)
                removed = enforce_retention(day + dt.timedelta(days=1))
                conn.execute("VACUUM (ANALYZE) events_eventkey, issues_hourlycount")
                t2 = time.monotonic()
                after = _sizes(conn)
                days.append(
                    {
                        "day": index + 1,
                        "insert_s": round(t1 - t0, 1),
                        "retention_s": round(t2 - t1, 1),
                        "partitions_dropped": removed.partitions_dropped,
                        "rows_deleted": removed.events_deleted,
                        "db_mb_before": round(before["database"] / 2**20),
                        "db_mb_after": round(after["database"] / 2**20),
                        "events_mb": round(after["events"] / 2**20),
                        "keys_mb": round(after["event_keys"] / 2**20),
                        "hourly_mb": round(after["hourly"] / 2**20, 1),
                        "event_rows": after["event_rows"],
                        "key_rows": after["key_rows"],
                        "partitions": after["partitions"],
                    }
                )
                print(json.dumps(days[-1]), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _drop(admin, args.database)

    elapsed = time.monotonic() - began
    inserted = per_day * args.days
    settled = [d["db_mb_after"] for d in days[1:]]
    reference = settled[0] if settled else 0
    flat = bool(settled) and all(
        abs(size - reference) <= FLAT_TOLERANCE * reference for size in settled
    )
    insert_seconds = sum(d["insert_s"] for d in days)
    print(
        json.dumps(
            {
                "events": inserted,
                "days": args.days,
                "wall_s": round(elapsed),
                "insert_events_per_s": round(inserted / insert_seconds),
                "retention_s_max": max(d["retention_s"] for d in days),
                "db_mb_after_day2": reference,
                "db_mb_after_last": days[-1]["db_mb_after"],
                "db_mb_max": max(d["db_mb_before"] for d in days),
                "flat": flat,
                "per_day_db_mb_after": [d["db_mb_after"] for d in days],
            }
        )
    )


if __name__ == "__main__":
    main()
