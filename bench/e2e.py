"""Ingest and digest together: does `fixtrail run` keep up, and lose nothing?

    .venv/bin/python bench/e2e.py [--rate 1000] [--duration 60]

1. bootstraps a project in a throwaway data directory (SQLite defaults, or
   whatever FIXTRAIL_DATABASE_URL / FIXTRAIL_QUEUE_URL say) and starts
   `fixtrail run` (granian with 2 workers plus one digest worker);
2. posts unique gzipped envelopes made by the real sentry_sdk (about 10 KB,
   200 distinct errors; see bench/ingest.py) at ``--rate`` events/s over 16
   connections for ``--duration`` seconds, sampling the queue backlog from
   /_ready every second;
3. waits for the backlog to drain, then counts the stored events.

It prints accepted events/s with p50/p99 latency, the largest backlog (size
and age of the oldest item) while sending, how long digest needed after the
last request, and accepted versus stored events: "lost" must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py, beside this file)

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
DRAIN_TIMEOUT_SECONDS = 300.0

_COUNT_EVENTS = """
import django, json
django.setup()
from fixtrail.events.models import Event, ProcessingError
from fixtrail.issues.models import Issue
print(json.dumps({"events": Event.objects.count(), "issues": Issue.objects.count(),
                  "errors": ProcessingError.objects.count()}))
"""


def _env(data_dir: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="fixtrail.settings",
        FIXTRAIL_DATA_DIR=data_dir,
        FIXTRAIL_BASE_URL=f"http://127.0.0.1:{port}",
        FIXTRAIL_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def _backlog(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_ready", timeout=5) as r:
        return json.loads(r.read())["backlog"]


class BacklogWatch(threading.Thread):
    """Sample the queue backlog once a second; keep the largest seen."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.max_size = 0
        self.max_age = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                backlog = _backlog(self.port)
            except OSError:
                continue
            self.max_size = max(self.max_size, backlog["size"])
            self.max_age = max(self.max_age, backlog["oldest_age_seconds"] or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="fixtrail-bench-e2e-")
    port = ingest_bench._free_port()
    env = _env(data_dir, port)
    fixtrail = [sys.executable, "-m", "fixtrail.cli"]
    made = subprocess.run(
        [*fixtrail, "bootstrap", "--org", "bench", "--project", "shop",
         "--email", "bench@example.org", "--password", "bench-password-1"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    dsn = json.loads(made.stdout)["dsn"]
    log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 (lives with server)
    print(f"server log: {log.name}")
    server = subprocess.Popen(
        [*fixtrail, "run", "--port", str(port), "--workers", str(args.workers)],
        env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _backlog(port)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.3)
        envelopes = ingest_bench.capture_envelopes(dsn, ingest_bench.DEFAULT_ERRORS)
        # One unique event id per request, so every accepted event must be
        # stored once.
        count = int(args.rate * args.duration * 1.05) + 100
        requests = ingest_bench.build_requests(envelopes, dsn, count)
        address = ("127.0.0.1", urlsplit(dsn).port or 80)
        watch = BacklogWatch(port)
        watch.start()
        result = ingest_bench.run_phase(
            address, requests, CONNECTIONS, args.duration, args.rate
        )
        sent_done = time.monotonic()
        while _backlog(port)["size"] > 0:
            if time.monotonic() - sent_done > DRAIN_TIMEOUT_SECONDS:
                raise SystemExit("digest did not drain the queue in time")
            time.sleep(0.2)
        drained = time.monotonic() - sent_done
        watch.stop.set()
        stored = json.loads(
            subprocess.run(
                [sys.executable, "-c", _COUNT_EVENTS],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout  # fmt: skip
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    accepted = result["statuses"].get(200, 0)
    ingest_bench._print_phase("steady", result)
    print(
        f"backlog while sending: at most {watch.max_size:,} items, oldest "
        f"{watch.max_age:.1f} s; drained {drained:.1f} s after the last request"
    )
    print(
        f"accepted {accepted:,} events, stored {stored['events']:,} in "
        f"{stored['issues']:,} issues, processing errors {stored['errors']}, "
        f"lost {accepted - stored['events']:,}"
    )


if __name__ == "__main__":
    main()
