"""Similar issues at scale: signature cost and lookup time in a project of
100,000 issues.

Run from the repository root::

    .venv/bin/python bench/similar.py                 # SQLite
    FIXTRAIL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fixtrail_bench_sim \\
        .venv/bin/python bench/similar.py             # PostgreSQL

    options: --issues 100000 --lookups 300 --families 5000

What it does:

1. sets up a throwaway data directory (unless FIXTRAIL_DATA_DIR is set),
   migrates, and creates one project;
2. makes ISSUES synthetic Python error events in FAMILIES families (issues
   of a family share most of a 6-to-20-frame stack trace and their message
   shape, as real near-duplicates do), computes each one's signatures with
   fixtrail.issues.similarity (timed: the digest-side cost per new issue),
   and bulk-inserts issues, signatures and band keys;
3. runs ANALYZE, then times LOOKUPS calls of
   fixtrail.issues.similar.similar_issues (what the issue page and
   ``/api/0/issues/{id}/similar/`` run) on random issues, and prints the
   median, the 95th percentile and the slowest, and how often the best
   match was of the same family.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_ISSUES = 100_000
DEFAULT_LOOKUPS = 300
DEFAULT_FAMILIES = 5_000
CHUNK = 5_000


def _setup_environment() -> None:
    if not os.environ.get("FIXTRAIL_DATA_DIR"):
        os.environ["FIXTRAIL_DATA_DIR"] = tempfile.mkdtemp(prefix="fixtrail-bench-sim-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")
    url = os.environ.get("FIXTRAIL_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')


def _event(rng: random.Random, family: int) -> dict:
    """A normalized event of ``family``: its stack with one or two frames
    changed, and its message with a different value."""
    family_rng = random.Random(family)
    depth = family_rng.randint(6, 20)
    functions = [f"fn_{family_rng.randint(0, 3000)}" for _ in range(depth)]
    for _ in range(rng.randint(0, 2)):
        functions[rng.randrange(depth)] = f"fn_{rng.randint(0, 3000)}"
    modules = [f"shop.m{family_rng.randint(0, 200)}" for _ in range(depth)]
    kind = family_rng.choice(["ValueError", "KeyError", "TypeError", "OSError"])
    words = " ".join(f"w{family_rng.randint(0, 500)}" for _ in range(4))
    return {
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": kind,
                    "value": f"{words} {rng.randint(0, 10**6)}",
                    "stacktrace": {
                        "frames": [
                            {"module": m, "function": f, "in_app": True}
                            for m, f in zip(modules, functions, strict=True)
                        ]
                    },
                }
            ]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--issues", type=int, default=DEFAULT_ISSUES)
    parser.add_argument("--lookups", type=int, default=DEFAULT_LOOKUPS)
    parser.add_argument("--families", type=int, default=DEFAULT_FAMILIES)
    args = parser.parse_args()
    _setup_environment()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from fixtrail.accounts.models import Organization
    from fixtrail.issues.models import Issue, IssueSignature, IssueSignatureBand
    from fixtrail.issues.similar import similar_issues
    from fixtrail.issues.similarity import pack, signature_of
    from fixtrail.projects.models import Project

    call_command("migrate", interactive=False, verbosity=0)
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "B"})
    Project.objects.filter(organization=org, slug="similar").delete()
    project = Project.objects.create(organization=org, slug="similar", name="S")
    rng = random.Random(7)
    now = timezone.now()
    families: dict[int, int] = {}
    sign_seconds = 0.0
    print(f"writing {args.issues} issues in {args.families} families…", flush=True)
    for start in range(0, args.issues, CHUNK):
        count = min(CHUNK, args.issues - start)
        issues = [
            Issue(
                project=project,
                short_id=start + n + 1,
                title="bench",
                first_seen=now,
                last_seen=now,
            )
            for n in range(count)
        ]
        events = [_event(rng, rng.randrange(args.families)) for _ in range(count)]
        with transaction.atomic():
            Issue.objects.bulk_create(issues)
            started = time.perf_counter()
            signatures = [signature_of(event) for event in events]
            sign_seconds += time.perf_counter() - started
            IssueSignature.objects.bulk_create(
                IssueSignature(
                    issue=issue,
                    project=project,
                    stack=pack(sig.stack),
                    message=pack(sig.message),
                )
                for issue, sig in zip(issues, signatures, strict=True)
            )
            IssueSignatureBand.objects.bulk_create(
                (
                    IssueSignatureBand(project=project, key=key, issue=issue)
                    for issue, sig in zip(issues, signatures, strict=True)
                    for key in sig.band_keys()
                ),
                batch_size=20_000,
            )
        for issue, event in zip(issues, events, strict=True):
            families[issue.pk] = hash(
                event["exception"]["values"][0]["stacktrace"]["frames"][0]["module"]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"signatures: {args.issues / sign_seconds:,.0f} issues/s "
        f"({sign_seconds / args.issues * 1e6:.0f} µs per issue)"
    )
    ids = list(families)
    timings = []
    found_any = 0
    for issue_id in rng.sample(ids, min(args.lookups, len(ids))):
        issue = Issue.objects.get(pk=issue_id)
        started = time.perf_counter()
        found = similar_issues(issue)
        timings.append((time.perf_counter() - started) * 1000)
        found_any += bool(found)
    timings.sort()
    print(
        f"lookup over {args.issues:,} issues: "
        f"median {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms, "
        f"max {timings[-1]:.1f} ms; {found_any}/{len(timings)} found a similar issue"
    )


if __name__ == "__main__":
    main()
