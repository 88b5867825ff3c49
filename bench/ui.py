"""Server time of the triage pages on a big project.

Run from the repository root::

    .venv/bin/python bench/ui.py                     # SQLite
    FIXTRAIL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fixtrail_bench_ui \\
        .venv/bin/python bench/ui.py                 # PostgreSQL

    options: --issues 10000 --events 1000000 --repeat 15
             --keep    keep the throwaway data directory (its path is printed)
             --reuse   time the pages of the data already in FIXTRAIL_DATA_DIR
                       (or the PostgreSQL database) without writing it again

What it does:

1. sets up a throwaway data directory (unless FIXTRAIL_DATA_DIR is set) and
   migrates the database (a PostgreSQL database is created if missing, and
   emptied of earlier bench data);
2. writes ISSUES issues and EVENTS events straight into the tables with bulk
   inserts (COPY on PostgreSQL), with the aggregates digest would keep:
   hourly counts, tag values (release, environment, browser, os, server)
   and affected users. Events per issue follow a long tail (the biggest
   issue has a few percent of all events), spread over 30 days; events
   share a few compressed payloads;
3. runs ANALYZE, then times, through Django's test client (middleware,
   view, queries and templates; no network), each page REPEAT times after
   one warm-up request, and prints the median and the slowest:
   - the project's issue list with a search, in every sort and direction,
     for 24 hours and 30 days, and with tag, text and release searches;
   - the issue page of the biggest issue and of a typical one, and their
     event lists with a search;
   - the page of an event with a 500-frame stack trace.

The targets are 150 ms for the list and issue pages and 300 ms for the
500-frame event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_ISSUES = 10_000
DEFAULT_EVENTS = 1_000_000
DEFAULT_REPEAT = 15
# Rows per INSERT batch: big enough to amortise round trips, small enough
# to keep memory flat.
CHUNK = 20_000
# The long tail: issue ranked r gets events in proportion to r ** -ZIPF.
ZIPF = 0.8
DAYS = 30
# Distinct affected users recorded per issue at most (keeps the table to a
# few hundred thousand rows).
MAX_USERS_PER_ISSUE = 50
TARGET_MS = 150
FRAMES_TARGET_MS = 300
BIG_STACK_FRAMES = 500

RELEASES = [
    "backend@1.0.0",
    "backend@1.1.0",
    "backend@1.2.0",
    "backend@1.3.0",
    "backend@1.4.0",
]
ENVIRONMENTS = ["production", "staging"]
BROWSERS = ["Chrome 131", "Firefox 133", "Safari 18", "Edge 131", "Chrome Mobile 131"]
SYSTEMS = ["Linux", "Windows 11", "macOS 15"]
SERVERS = [f"web-{n}" for n in range(1, 11)]
LEVELS = ["error"] * 14 + ["warning"] * 3 + ["fatal"] + ["info"] * 2
STATUSES = ["unresolved"] * 14 + ["resolved"] * 4 + ["ignored"] * 2
ERRORS = [
    ("ValueError", "invalid literal for int() with base 10: {w}"),
    ("KeyError", "'{w}'"),
    ("TimeoutError", "read timeout after 30s talking to {w}"),
    ("ConnectionError", "connection refused by {w}:5432"),
    ("TypeError", "'NoneType' object is not subscriptable in {w}"),
    ("ZeroDivisionError", "division by zero while pricing {w}"),
    ("PermissionError", "access denied to {w}"),
]
WORDS = ["cart", "order", "invoice", "user", "basket", "sku", "payment", "coupon"]


def _setup_environment() -> str | None:
    """Point Fixtrail at a throwaway data directory unless one is set, and
    create the PostgreSQL database if needed; return the directory made."""
    made = None
    if not os.environ.get("FIXTRAIL_DATA_DIR"):
        made = tempfile.mkdtemp(prefix="fixtrail-bench-ui-")
        os.environ["FIXTRAIL_DATA_DIR"] = made
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")
    url = os.environ.get("FIXTRAIL_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    return made


def _payload(rng: random.Random, frames: int, variant: int) -> dict:
    """A normalized Python error event with ``frames`` frames."""
    stack = []
    for n in range(frames):
        in_app = n % 3 == 2 or n == frames - 1
        stack.append(
            {
                "filename": f"shop/module_{n % 40}.py"
                if in_app
                else f"django/core/part_{n}.py",
                "abs_path": f"/srv/app/shop/module_{n % 40}.py",
                "module": f"shop.module_{n % 40}",
                "function": f"handler_{n}",
                "lineno": 10 + n,
                "context_line": f"    result = step_{n}(order, customer)  # {variant}",
                "pre_context": [f"    line_{n}_{k} = compute({k})" for k in range(5)],
                "post_context": [f"    after_{n}_{k}()" for k in range(5)],
                "in_app": in_app,
                "vars": {
                    "order": {"id": n, "total": "19.99", "items": ["a", "b"]},
                    "customer": f"<Customer {n}>",
                    "count": n,
                    "flag": n % 2 == 0,
                },
            }
        )
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "level": "error",
        "timestamp": time.time(),
        "received": time.time(),
        "release": RELEASES[variant % len(RELEASES)],
        "environment": "production",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"invalid literal for int() with base 10: 'x{variant}'",
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {"frames": stack},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": time.time() - 30 + i,
                    "category": "query",
                    "message": f"SELECT {i}",
                }
                for i in range(30)
            ]
        },
        "request": {
            "url": "https://shop.example/cart",
            "method": "POST",
            "headers": [["User-Agent", "Mozilla/5.0"], ["Accept", "text/html"]],
            "data": {"sku": "A-1", "quantity": rng.randint(1, 9)},
        },
        "user": {"id": str(variant), "email": f"user{variant}@example.org"},
        "tags": [
            ["browser", BROWSERS[variant % 5]],
            ["server_name", SERVERS[variant % 10]],
        ],
        "contexts": {
            "os": {"name": "Linux", "version": "6.1"},
            "runtime": {"name": "CPython", "version": "3.11.2"},
        },
        "sdk": {"name": "sentry.python.django", "version": "2.75.0"},
    }


def _make_fixture(issues_wanted: int, events_wanted: int, now: dt.datetime) -> dict:
    from django.db import connection, transaction

    from fixtrail.accounts.models import Membership, Organization, Role, User
    from fixtrail.events import partitions
    from fixtrail.events.storage import compress_event
    from fixtrail.issues.models import HourlyCount, Issue, IssueUser, TagValue
    from fixtrail.projects.models import Project, ProjectKey

    rng = random.Random(42)
    Organization.objects.filter(slug="bench").delete()
    User.objects.filter(email="bench@example.org").delete()
    user = User.objects.create_user("bench@example.org", "bench-password-1")
    org = Organization.objects.create(slug="bench", name="Bench")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    project = Project.objects.create(organization=org, slug="backend", name="Backend")
    ProjectKey.objects.create(project=project)

    weights = [1 / (rank + 1) ** ZIPF for rank in range(issues_wanted)]
    scale = events_wanted / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += events_wanted - sum(counts)
    span = dt.timedelta(days=DAYS)
    issues = []
    for i in range(issues_wanted):
        # Busy issues span the whole window; a third of the rest were last
        # seen within a day, so the 24-hour list has thousands of rows.
        if counts[i] > 500 or rng.random() < 0.35:
            last = now - dt.timedelta(seconds=rng.uniform(0, 86_000))
        else:
            last = now - dt.timedelta(seconds=rng.uniform(0, span.total_seconds()))
        first = last - dt.timedelta(
            seconds=rng.uniform(0, (last - (now - span)).total_seconds())
        )
        if counts[i] > 500:
            first = now - span + dt.timedelta(hours=1)
        kind, message = ERRORS[i % len(ERRORS)]
        word = f"{rng.choice(WORDS)}_{i}"
        issues.append(
            Issue(
                project=project,
                short_id=i + 1,
                title=f"{kind}: {message.format(w=word)}",
                culprit=f"shop.{rng.choice(WORDS)} in handle_{i % 300}",
                type=kind,
                value=message.format(w=word),
                level=rng.choice(LEVELS),
                platform="python",
                first_seen=first,
                last_seen=last,
                times_seen=counts[i],
                user_count=min(counts[i], MAX_USERS_PER_ISSUE),
                first_release=RELEASES[0],
                last_release=RELEASES[-1],
                status=rng.choice(STATUSES),
                substatus="new" if now - first < dt.timedelta(days=7) else "ongoing",
                priority=rng.choice([25, 50, 75]),
            )
        )
    Project.objects.filter(pk=project.pk).update(next_short_id=issues_wanted + 1)
    with transaction.atomic():
        Issue.objects.bulk_create(issues, batch_size=2000)
    issues = list(Issue.objects.filter(project=project).order_by("short_id"))

    payloads = [compress_event(_payload(rng, 20, v)) for v in range(4)]
    hourly: Counter = Counter()
    started = time.perf_counter()
    if partitions.is_partitioned():
        start_day = (now - span).date()
        partitions.ensure_partitions(
            start_day + dt.timedelta(days=d) for d in range(DAYS + 2)
        )
    rows = []
    written = 0
    for issue in issues:
        seconds = (issue.last_seen - issue.first_seen).total_seconds()
        for n in range(issue.times_seen):
            moment = (
                issue.last_seen
                if n == 0
                else issue.first_seen + dt.timedelta(seconds=rng.uniform(0, seconds))
            )
            hourly[(issue.pk, moment.replace(minute=0, second=0, microsecond=0))] += 1
            variant = n % 4
            rows.append(
                (
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    moment,
                    moment,
                    issue.title[:500],
                    issue.level,
                    RELEASES[variant],
                    ENVIRONMENTS[n % 5 == 0],
                    f"id:{n % 997}",
                    "0" * 32,
                    payloads[variant],
                    len(payloads[variant]),
                    issue.pk,
                    project.pk,
                )
            )
            if len(rows) >= CHUNK:
                _insert_events(connection, rows)
                written += len(rows)
                rows = []
                print(f"\r  events: {written:,}", end="", flush=True)
    _insert_events(connection, rows)
    written += len(rows)
    print(f"\r  events: {written:,} in {time.perf_counter() - started:.0f} s")

    with transaction.atomic():
        HourlyCount.objects.bulk_create(
            (HourlyCount(issue_id=i, hour=h, count=c) for (i, h), c in hourly.items()),
            batch_size=CHUNK,
        )
        TagValue.objects.bulk_create(_tag_values(issues, rng), batch_size=CHUNK)
        IssueUser.objects.bulk_create(_issue_users(issues), batch_size=CHUNK)
    print(f"  hourly counts: {len(hourly):,}; aggregates done")

    big_stack = _payload(rng, BIG_STACK_FRAMES, 9)
    frames_issue = Issue.objects.create(
        project=project,
        short_id=issues_wanted + 1,
        title="ValueError: a very deep stack",
        culprit="shop.deep in recurse",
        first_seen=now,
        last_seen=now,
        times_seen=1,
    )
    _insert_events(
        connection,
        [
            (
                big_stack["event_id"],
                now,
                now,
                frames_issue.title,
                "error",
                RELEASES[0],
                "production",
                "id:1",
                "0" * 32,
                compress_event(big_stack),
                0,
                frames_issue.pk,
                project.pk,
            )
        ],
    )
    typical = sorted(issues, key=lambda i: i.times_seen)[len(issues) // 2]
    return {
        "user": user,
        "project": project,
        "big": issues[0],
        "typical": typical,
        "frames_issue": frames_issue,
        "frames_event": big_stack["event_id"],
    }


EVENT_COLUMNS = (
    "event_id",
    "timestamp",
    "received_at",
    "title",
    "level",
    "release",
    "environment",
    "user_identity",
    "grouping_hash",
    "data",
    "size",
    "issue_id",
    "project_id",
)


def _insert_events(connection, rows: list[tuple]) -> None:
    if not rows:
        return
    columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY events_event ({columns}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
            cursor.executemany(
                f"INSERT INTO events_event ({columns}) VALUES ({marks})",
                [(r[0], adapt(r[1]), adapt(r[2]), *r[3:]) for r in rows],
            )


def _split(total: int, values: list[str], rng: random.Random) -> dict[str, int]:
    """Share ``total`` events among some of ``values``, unevenly."""
    chosen = values[: rng.randint(1, len(values))]
    weights = [rng.random() + 0.1 for _ in chosen]
    return {
        v: max(1, int(total * w / sum(weights)))
        for v, w in zip(chosen, weights, strict=True)
    }


def _tag_values(issues, rng: random.Random):
    from fixtrail.issues.models import TagValue

    for issue in issues:
        for key, values in (
            ("release", RELEASES),
            ("environment", ENVIRONMENTS),
            ("browser", BROWSERS),
            ("os", SYSTEMS),
            ("server_name", SERVERS),
        ):
            for value, count in _split(issue.times_seen, values, rng).items():
                yield TagValue(
                    issue_id=issue.pk,
                    key=key,
                    value=value,
                    times_seen=count,
                    first_seen=issue.first_seen,
                    last_seen=issue.last_seen,
                )


def _issue_users(issues):
    from fixtrail.issues.models import IssueUser

    for issue in issues:
        for n in range(issue.user_count):
            person = (issue.pk * 7 + n) % 50_000
            yield IssueUser(
                issue_id=issue.pk,
                identity=f"id:{person}",
                email=f"user{person}@example.org",
                first_seen=issue.first_seen,
                last_seen=issue.last_seen,
            )


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _time(client, url: str, repeat: int) -> tuple[float, float, float]:
    """Return the median and slowest wall time and the median CPU time of
    this process (ms) for GET ``url``; CPU time is what the web process
    spends, unaffected by other load on the machine (on PostgreSQL the
    database's own work is not in it)."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def _list_url(base: str, **params: str) -> str:
    return f"{base}?{urlencode(params)}"


def _pages(fixture: dict) -> list[tuple[str, str, int]]:
    base = f"/organizations/bench/projects/{fixture['project'].slug}/"
    pages = []
    search = "is:unresolved level:error"
    for sort in ("date", "new", "freq", "user", "priority"):
        for direction in ("desc", "asc"):
            pages.append(
                (
                    f"list sort={sort} {direction} q='{search}'",
                    _list_url(base, query=search, sort=sort, dir=direction),
                    TARGET_MS,
                )
            )
    for sort in ("date", "freq"):
        pages.append(
            (
                f"list 30d sort={sort} q='{search}'",
                _list_url(base, query=search, sort=sort, period="30d"),
                TARGET_MS,
            )
        )
    for query in (
        'is:unresolved browser:"Safari 18"',
        "timeout",
        "is:unresolved release:backend@1.4.0 !level:warning",
        "user.email:user7@example.org",
        "",
    ):
        pages.append(
            (
                f"list 30d q='{query}'",
                _list_url(base, query=query, period="30d"),
                TARGET_MS,
            )
        )
    big, typical = fixture["big"], fixture["typical"]
    frames_url = (
        f"/issues/{fixture['frames_issue'].pk}/events/{fixture['frames_event']}/"
    )
    pages += [
        (
            f"issue page, biggest issue ({big.times_seen:,} events)",
            f"/issues/{big.pk}/",
            TARGET_MS,
        ),
        (
            f"issue page, typical issue ({typical.times_seen} events)",
            f"/issues/{typical.pk}/",
            TARGET_MS,
        ),
        (
            "events of biggest issue, release search",
            f"/issues/{big.pk}/events/?query=release:backend@1.2.0",
            TARGET_MS,
        ),
        (
            f"event with {BIG_STACK_FRAMES} frames (whole issue page)",
            frames_url,
            FRAMES_TARGET_MS,
        ),
    ]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=DEFAULT_ISSUES)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    made = _setup_environment()
    try:
        _run(args)
    finally:
        if made and not args.keep:
            shutil.rmtree(made, ignore_errors=True)
        elif made:
            print(f"data kept in FIXTRAIL_DATA_DIR={made}")


def _existing_fixture() -> dict:
    from fixtrail.accounts.models import User
    from fixtrail.events.models import Event
    from fixtrail.issues.models import Issue
    from fixtrail.projects.models import Project

    project = Project.objects.get(organization__slug="bench", slug="backend")
    frames_issue = Issue.objects.get(
        project=project, title="ValueError: a very deep stack"
    )
    issues = Issue.objects.filter(project=project).exclude(pk=frames_issue.pk)
    return {
        "user": User.objects.get(email="bench@example.org"),
        "project": project,
        "big": issues.order_by("-times_seen").first(),
        "typical": issues.order_by("times_seen")[issues.count() // 2],
        "frames_issue": frames_issue,
        "frames_event": Event.objects.get(issue=frames_issue).event_id,
    }


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    print(
        f"database: {connection.vendor}; {args.issues:,} issues, {args.events:,} events"
    )
    if args.reuse:
        fixture = _existing_fixture()
    else:
        started = time.perf_counter()
        fixture = _make_fixture(args.issues, args.events, timezone.now())
        _analyze()
        print(f"fixture written in {time.perf_counter() - started:.0f} s\n")

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(fixture["user"])
    width = 62
    print(f"{'page':<{width}} {'median':>8} {'slowest':>8} {'cpu':>8}  target")
    failures = 0
    for label, url, target in _pages(fixture):
        median, slowest, cpu = _time(client, url, args.repeat)
        verdict = "ok" if median < target else "SLOW"
        failures += median >= target
        print(
            f"{label:<{width}} {median:6.1f}ms {slowest:6.1f}ms {cpu:6.1f}ms"
            f"  <{target} {verdict}"
        )
    print(
        "\nall within target" if not failures else f"\n{failures} page(s) over target"
    )


if __name__ == "__main__":
    main()
