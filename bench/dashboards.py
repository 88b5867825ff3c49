"""Server time of the dashboard endpoints (Grafana's Sentry data source) on
a big project: events-stats, Discover, tags.

Run from the repository root::

    .venv/bin/python bench/dashboards.py             # SQLite
    FIXTRAIL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fixtrail_bench_ui \\
        .venv/bin/python bench/dashboards.py         # PostgreSQL

    options: --issues 10000 --events 1000000 --repeat 9
             --keep    keep the throwaway data directory (its path is printed)
             --reuse   time the data already in FIXTRAIL_DATA_DIR (or the
                       PostgreSQL database), e.g. one bench/ui.py --keep made

What it does:

1. builds the same data set as bench/ui.py (its own fixture code: ISSUES
   issues, EVENTS events over 30 days with a long tail, hourly counts and
   tag values), unless --reuse;
2. issues an API token for the bench user and times, through Django's test
   client (middleware, auth, view, queries, JSON; no network), each request
   REPEAT times after one warm-up, with the parameters the data source
   sends, and prints the median, the slowest and this process's CPU time:
   - events-stats answered from hourly counts (count(), whole hours, no
     event-row term), over 24 hours and 14 days, plain and top 10 issues;
   - events-stats that need the events (count_unique(user), a level:
     term, 5-minute buckets, top releases);
   - Discover tables grouped by issue, and event rows, with and without a
     query;
   - the organization's tags and one tag's values.

Targets: 300 ms for requests answered from hourly counts or tag counts,
2 s for those that scan 14 days of events (they read every event row in
the range: the Event table has no (project, timestamp) index).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ui  # noqa: E402

DEFAULT_REPEAT = 9
HOURLY_TARGET_MS = 300
SCAN_TARGET_MS = 2000


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return f"/api/0/organizations/bench/{path}?{urlencode(params)}"


def _range(now: dt.datetime, hours: int) -> list[tuple[str, str]]:
    start = now - dt.timedelta(hours=hours)
    return [
        ("start", start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("end", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ]


def _stats(
    now: dt.datetime,
    hours: int,
    interval: str,
    y_axis: list[str],
    groups: list[str] = (),
    query: str = "",
) -> str:
    params = [
        ("query", query),
        *_range(now, hours),
        ("interval", interval),
        ("partial", "1"),
        ("excludeOther", "1"),
        ("topEvents", "10"),
        *[("field", f) for f in [*y_axis, *groups]],
        *[("yAxis", y) for y in y_axis],
    ]
    if groups:
        params.append(("sort", f"-{y_axis[0]}"))
    return _url("events-stats/", params)


def _discover(
    now: dt.datetime, hours: int, fields: list[str], sort: str, query: str = ""
) -> str:
    params = [
        ("query", query),
        *_range(now, hours),
        ("sort", sort),
        ("per_page", "100"),
        *[("field", f) for f in fields],
    ]
    return _url("events/", params)


def _requests(now: dt.datetime) -> list[tuple[str, str, int]]:
    day, fortnight = 24, 14 * 24
    grouped = ["issue", "title", "count()", "count_unique(user)", "last_seen()"]
    rows = ["id", "title", "issue", "release", "user.display", "timestamp"]
    return [
        (
            "events-stats count() 24h/1h (hourly counts)",
            _stats(now, day, "1h", ["count()"]),
            HOURLY_TARGET_MS,
        ),
        (
            "events-stats count() 14d/3h (hourly counts)",
            _stats(now, fortnight, "3h", ["count()"]),
            HOURLY_TARGET_MS,
        ),
        (
            "events-stats top 10 issues 14d/3h (hourly counts)",
            _stats(now, fortnight, "3h", ["count()"], ["issue"]),
            HOURLY_TARGET_MS,
        ),
        (
            "events-stats count() is:unresolved 14d/3h (hourly)",
            _stats(now, fortnight, "3h", ["count()"], query="is:unresolved"),
            HOURLY_TARGET_MS,
        ),
        (
            "events-stats count_unique(user) 24h/5m (events)",
            _stats(now, day, "5m", ["count()", "count_unique(user)"]),
            SCAN_TARGET_MS,
        ),
        (
            "events-stats count() level:error 14d/3h (events)",
            _stats(now, fortnight, "3h", ["count()"], query="level:error"),
            SCAN_TARGET_MS,
        ),
        (
            "events-stats top 10 releases 14d/3h (events)",
            _stats(now, fortnight, "3h", ["count()"], ["release"]),
            SCAN_TARGET_MS,
        ),
        (
            "discover by issue 24h sort -count()",
            _discover(now, day, grouped, "-count()"),
            SCAN_TARGET_MS,
        ),
        (
            "discover by issue 14d sort -count()",
            _discover(now, fortnight, grouped, "-count()"),
            SCAN_TARGET_MS,
        ),
        (
            "discover by issue 14d is:unresolved level:error",
            _discover(now, fortnight, grouped, "-count()", "is:unresolved level:error"),
            SCAN_TARGET_MS,
        ),
        (
            "discover event rows 14d sort -timestamp",
            _discover(now, fortnight, rows, "-timestamp"),
            SCAN_TARGET_MS,
        ),
        (
            "discover event rows 14d release:backend@1.2.0",
            _discover(now, fortnight, rows, "-timestamp", "release:backend@1.2.0"),
            SCAN_TARGET_MS,
        ),
        (
            "organization tags",
            "/api/0/organizations/bench/tags/",
            HOURLY_TARGET_MS,
        ),
        (
            "tag values of release",
            "/api/0/organizations/bench/tags/release/values/",
            HOURLY_TARGET_MS,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=ui.DEFAULT_ISSUES)
    parser.add_argument("--events", type=int, default=ui.DEFAULT_EVENTS)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    # The bench sends more requests a minute than one token may.
    os.environ.setdefault("FIXTRAIL_API_RATE_LIMIT_PER_MINUTE", "0")
    made = ui._setup_environment()
    try:
        _run(args)
    finally:
        if made and not args.keep:
            shutil.rmtree(made, ignore_errors=True)
        elif made:
            print(f"data kept in FIXTRAIL_DATA_DIR={made}")


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from fixtrail.accounts.models import SCOPES, ApiToken
    from fixtrail.events.models import Event

    call_command("migrate", interactive=False, verbosity=0)
    print(
        f"database: {connection.vendor}; {args.issues:,} issues, {args.events:,} events"
    )
    if args.reuse:
        fixture = ui._existing_fixture()
    else:
        started = time.perf_counter()
        fixture = ui._make_fixture(args.issues, args.events, timezone.now())
        ui._analyze()
        print(f"fixture written in {time.perf_counter() - started:.0f} s\n")
    # The newest event, not the clock: --reuse may time older data.
    now = Event.objects.order_by("-timestamp").values_list("timestamp", flat=True)[0]
    _, token = ApiToken.issue(fixture["user"], "bench", list(SCOPES))
    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")

    width = 54
    print(f"{'request':<{width}} {'median':>8} {'slowest':>8} {'cpu':>8}  target")
    failures = 0
    for label, url, target in _requests(now):
        median, slowest, cpu = ui._time(client, url, args.repeat)
        verdict = "ok" if median < target else "SLOW"
        failures += median >= target
        print(
            f"{label:<{width}} {median:6.1f}ms {slowest:6.1f}ms {cpu:6.1f}ms"
            f"  <{target} {verdict}"
        )
    print(
        "\nall within target"
        if not failures
        else f"\n{failures} request(s) over target"
    )


if __name__ == "__main__":
    main()
