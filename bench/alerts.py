"""Alert evaluation cost: how long one ``evaluate(now)`` takes over a busy
project, the work the worker's job thread does every FIXTRAIL_ALERTS_EVALUATE_SECONDS.

Run from the repository root::

    .venv/bin/python bench/alerts.py [--events 50000] [--issues 500] \\
        [--rules 20] [--profile]

What it does:

1. sets up a throwaway data directory (removed at exit), migrates, and makes
   an organization and a project (with its default rule);
2. queues EVENTS small error events spread over ISSUES issues and over the
   last hour, with 100 distinct users, and digests them with the real
   digest (``digest_messages``);
3. adds RULES rules: a third frequency:1000/10m, a third users:50/1h, a
   third spike:5, each with a webhook to an unroutable address (nothing is
   sent: deliveries stay queued);
4. times ``evaluate(now)`` three times (the first fires the new issues and
   thresholds, the next ones find everything cooling down) and prints each.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import datetime as dt
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    if "FIXTRAIL_DATA_DIR" not in os.environ:
        data_dir = tempfile.mkdtemp(prefix="fixtrail-bench-alerts-")
        atexit.register(shutil.rmtree, data_dir, True)
        os.environ["FIXTRAIL_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")
    import django

    django.setup()
    import orjson
    from django.conf import settings
    from django.core.management import call_command

    from fixtrail.accounts.models import Organization
    from fixtrail.alerts import triggers
    from fixtrail.alerts.evaluate import evaluate
    from fixtrail.alerts.rules import parse_action, save_rule
    from fixtrail.digest.batches import digest_messages
    from fixtrail.events.models import Event
    from fixtrail.ingest.items import encode_item
    from fixtrail.projects.models import create_project_with_key
    from fixtrail.queue import open_queue

    call_command("migrate", interactive=False, verbosity=0)
    org = Organization.objects.create(slug=f"bench-{uuid.uuid4().hex[:6]}", name="B")
    project = create_project_with_key(org, "Alerts bench", "python")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    queue = open_queue(settings.QUEUE_URL)
    bodies = []
    for n in range(args.events):
        at = now - dt.timedelta(seconds=3600 * n / args.events)
        payload = {
            "platform": "python",
            "level": "error",
            "timestamp": at.timestamp(),
            "message": f"bench error {n % args.issues}",
            "fingerprint": [f"issue-{n % args.issues}"],
            "user": {"id": str(n % 100)},
            "release": "bench@1.0",
        }
        header = {
            "type": "event",
            "project_id": project.pk,
            "event_id": uuid.uuid4().hex,
            "received_at": at.timestamp(),
            "clock_drift": 0.0,
            "client_ip": "203.0.113.7",
            "key_id": 1,
        }
        bodies.append(encode_item(header, orjson.dumps(payload)))
    queue.put_many(bodies)
    started = time.perf_counter()
    while messages := queue.read("bench", 500):
        digest_messages(messages, now=now)
        queue.ack([m.id for m in messages])
    queue.close()
    print(
        f"digested {Event.objects.filter(project=project).count()} events in "
        f"{time.perf_counter() - started:.1f} s"
    )

    kinds = ["frequency:1000/10m", "users:50/1h", "spike:5"]
    for n in range(args.rules):
        save_rule(
            project,
            name=f"bench {n}",
            when=triggers.parse_when([kinds[n % 3]]),
            add_actions=[parse_action("webhook:http://192.0.2.1/hook")],
        )
    for turn in range(3):
        profile = cProfile.Profile() if args.profile and turn == 0 else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        fired = evaluate(now + dt.timedelta(seconds=30 * turn))
        took = time.perf_counter() - started
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        print(f"evaluate #{turn + 1}: {took * 1000:.0f} ms, {fired} alerts fired")


if __name__ == "__main__":
    main()
