"""Ingest and digest together: does `fixtrail run` keep up, and lose nothing?

    .venv/bin/python bench/e2e.py [--client wrk] [--duration 60]
    .venv/bin/python bench/e2e.py --client python --rate 500

1. bootstraps a project in a throwaway data directory (SQLite defaults, or
   whatever FIXTRAIL_DATABASE_URL / FIXTRAIL_QUEUE_URL say) and starts
   `fixtrail run` (granian with ``--workers`` workers plus one digest
   worker), then reads the processes' summed PSS at rest;
2. raises 200 distinct errors under the real sentry_sdk (about 10 KB
   envelopes; see bench/ingest.py) and sends them with a fresh event id per
   request over 16 connections for ``--duration`` seconds:
   - ``--client wrk`` (default): wrk with bench/wrk/envelopes.lua, as fast
     as the server answers (envelopes uncompressed: Lua cannot gzip);
   - ``--client python``: bench/ingest.py's selector loop, gzipped as the
     SDK sends them, paced at ``--rate`` events/s (for latency at a steady
     rate, which plain wrk cannot pace);
   sampling the queue backlog from /_ready and the PSS once a second;
3. waits for the backlog to drain, then counts the stored events.

It prints one JSON line: accepted events/s with p50/p99 latency, refusals
(429 past the queue bound), the largest backlog, how long digest needed
after the last request, end-to-end events/s (stored events over the time
from the first request until the queue was empty), accepted versus stored
events ("lost" must be 0), the server's CPU time per stored event (ingest
and digest together; steadier than the rates on a shared machine) and PSS
at rest and at peak in MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py, beside this file)

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
DRAIN_TIMEOUT_SECONDS = 300.0
WRK_SCRIPT = ROOT / "bench" / "wrk" / "envelopes.lua"
# The event id every template carries until wrk puts a fresh one in.
PLACEHOLDER = b"feedfacefeedfacefeedfacefeedface"
# Seconds the server is left alone after start before its idle PSS is read.
SETTLE_SECONDS = 5.0

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


def _pss_bytes(pids: set[int]) -> int:
    """Return the summed proportional set size of ``pids``: shared pages
    (the interpreter, forked copies) counted once across the processes."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def _cpu_seconds(pids: set[int]) -> float:
    """Return the CPU time (user and system) ``pids`` have used so far,
    with that of their children which have exited."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of proc(5).
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class PssWatch(threading.Thread):
    """Sample the server's process tree's PSS; keep the largest seen."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        # Once a second: reading smaps_rollup walks the server's page tables,
        # and five times a second it took about 5% of a core from the server
        # it measures. The server's memory moves slowly.
        while not self.stop.wait(1.0):
            pids = ingest_bench._process_tree(self.root)
            self.peak = max(self.peak, _pss_bytes(pids))


def _wrk(
    port: int, dsn: str, envelopes: list[bytes], seconds: float, tmp: Path
) -> dict:
    templates = tmp / "templates.bin"
    with templates.open("wb") as out:
        for envelope in envelopes:
            old_id = json.loads(envelope.split(b"\n", 1)[0])["event_id"].encode()
            out.write(envelope.replace(old_id, PLACEHOLDER) + b"\0")
    parts = urlsplit(dsn)
    project_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
    result = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--timeout", "10s",
         "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}/api/{project_id}/envelope/",
         "--", str(templates), parts.username],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = [text for text in result.stdout.splitlines() if text.startswith("{")][-1]
    return json.loads(line)


def _python_client(
    dsn: str, envelopes: list[bytes], seconds: float, rate: float
) -> dict:
    count = int(rate * seconds * 1.05) + 100
    requests = ingest_bench.build_requests(envelopes, dsn, count)
    address = ("127.0.0.1", urlsplit(dsn).port or 80)
    result = ingest_bench.run_phase(address, requests, CONNECTIONS, seconds, rate)
    statuses = result["statuses"]
    return {
        "requests": sum(statuses.values()),
        "accepted": statuses.get(200, 0),
        "refused": statuses.get(429, 0) + statuses.get(503, 0),
        "failed": sum(n for s, n in statuses.items() if s not in (200, 429, 503)),
        "seconds": result["elapsed"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
    }


@dataclass
class Server:
    """A `fixtrail run` started for a benchmark, with its bootstrapped DSN."""

    process: subprocess.Popen
    data_dir: str
    port: int
    env: dict[str, str]
    dsn: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


def start_server(name: str, arguments: list[str]) -> Server:
    """Bootstrap a project in a throwaway data directory, start `fixtrail
    run` with ``arguments`` and return once it answers /_ready."""
    data_dir = tempfile.mkdtemp(prefix=f"fixtrail-bench-{name}-")
    port = ingest_bench._free_port()
    env = _env(data_dir, port)
    fixtrail = [sys.executable, "-m", "fixtrail.cli"]
    made = subprocess.run(
        [*fixtrail, "bootstrap", "--org", "bench", "--project", "shop",
         "--email", "bench@example.org", "--password", "bench-password-1"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 (lives with server)
    print(f"server log: {log.name}", file=sys.stderr)
    process = subprocess.Popen(
        [*fixtrail, "run", "--port", str(port), *arguments],
        env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log,
    )  # fmt: skip
    server = Server(process, data_dir, port, env, json.loads(made.stdout)["dsn"])
    deadline = time.monotonic() + 60
    while True:
        try:
            _backlog(port)
            return server
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise SystemExit("the server did not start") from None
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk")
    parser.add_argument("--rate", type=float, default=500.0, help="python client only")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--workers", type=int, default=None, help="default: fixtrail run's own"
    )
    parser.add_argument(
        "--web-niceness", type=int, default=None, help="default: fixtrail run's own"
    )
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    options = ["--workers", str(args.workers)] if args.workers else []
    if args.web_niceness is not None:
        options += ["--web-niceness", str(args.web_niceness)]
    server = start_server("e2e", options)
    data_dir, port, env, dsn = server.data_dir, server.port, server.env, server.dsn
    try:
        envelopes = ingest_bench.capture_envelopes(dsn, ingest_bench.DEFAULT_ERRORS)
        time.sleep(SETTLE_SECONDS)
        idle_pss = _pss_bytes(ingest_bench._process_tree(server.pid))
        cpu_before = _cpu_seconds(ingest_bench._process_tree(server.pid))
        watch, memory = BacklogWatch(port), PssWatch(server.pid)
        watch.start()
        memory.start()
        started = time.monotonic()
        if args.client == "wrk":
            sent = _wrk(port, dsn, envelopes, args.duration, Path(data_dir))
        else:
            sent = _python_client(dsn, envelopes, args.duration, args.rate)
        sent_done = time.monotonic()
        while _backlog(port)["size"] > 0:
            if time.monotonic() - sent_done > DRAIN_TIMEOUT_SECONDS:
                raise SystemExit("digest did not drain the queue in time")
            time.sleep(0.2)
        drained = time.monotonic()
        cpu = _cpu_seconds(ingest_bench._process_tree(server.pid)) - cpu_before
        watch.stop.set()
        memory.stop.set()
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
        server.stop()

    print(
        json.dumps(
            {
                "client": args.client,
                "database": env.get("FIXTRAIL_DATABASE_URL", "sqlite").split(":")[0],
                "workers": args.workers or "default",
                "web_niceness": (
                    "default" if args.web_niceness is None else args.web_niceness
                ),
                "duration_s": round(sent["seconds"], 1),
                "requests": sent["requests"],
                "accepted": sent["accepted"],
                "refused": sent["refused"],
                "failed": sent["failed"],
                "accepted_per_s": round(sent["accepted"] / sent["seconds"]),
                "p50_ms": round(sent["p50_ms"], 1),
                "p99_ms": round(sent["p99_ms"], 1),
                "max_backlog": watch.max_size,
                "max_backlog_age_s": round(watch.max_age, 1),
                "drain_s": round(drained - sent_done, 1),
                "stored": stored["events"],
                "issues": stored["issues"],
                "processing_errors": stored["errors"],
                # wrk stops counting at the deadline: up to one request
                # per connection is stored without its answer being seen.
                "lost": max(0, sent["accepted"] - stored["events"]),
                "stored_unanswered": max(0, stored["events"] - sent["accepted"]),
                "end_to_end_per_s": round(stored["events"] / (drained - started)),
                # Robust to a busy machine, unlike the rates: what one
                # event cost the server in CPU, ingest and digest together.
                "cpu_us_per_event": round(1e6 * cpu / max(1, stored["events"])),
                "pss_idle_mb": round(idle_pss / 2**20),
                "pss_peak_mb": round(memory.peak / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
