"""Scale-out figures on PostgreSQL + Redis: 1 or 2 web processes, 1 or 2
digest workers.

    .venv/bin/python bench/scale.py [--seconds 8] [--wrk-seconds 10]

1. creates a PostgreSQL database of its own (FIXTRAIL_BENCH_POSTGRES_URL,
   default postgres://postgres@127.0.0.1:5432/postgres, for the admin
   connection) and starts a redis-server of its own on a free port with the
   append-only file on (as production should run it);
2. for each of (web, workers) in (1, 1), (1, 2), (2, 1), (2, 2): starts
   that many `fixtrail web --workers 1` and `fixtrail worker` processes,
   then
   - "raw ingest": wrk posts one real-SDK envelope over 16 connections per
     web process for ``--wrk-seconds`` (the same event id each time, so
     digest stores it once and the queue is flushed afterwards);
   - "end to end": posts unique real-SDK envelopes (see bench/ingest.py)
     for ``--seconds`` as fast as the web processes answer, 16 connections
     each, and times until digest has stored every accepted one.
3. prints requests/s for wrk, and accepted events/s, digest events/s and
   end-to-end events/s for each configuration.

Every process (PostgreSQL, Redis, the Python client, wrk, Fixtrail) shares
the same machine, so the figures say where the limit is on that machine,
not what separate hosts would do.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py, beside this file)

ROOT = Path(__file__).resolve().parents[1]
FIXTRAIL = [sys.executable, "-m", "fixtrail.cli"]
ADMIN_URL = os.environ.get(
    "FIXTRAIL_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
CONFIGURATIONS = [(1, 1), (1, 2), (2, 1), (2, 2)]
CONNECTIONS_PER_WEB = 16
DRAIN_TIMEOUT_SECONDS = 600.0
STREAM = "fixtrail:queue:events"

_COUNT = """
import django
django.setup()
from fixtrail.events.models import Event
print(Event.objects.count())
"""

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-sentry-envelope"
wrk.headers["X-Sentry-Auth"] = "Sentry sentry_key={key}, sentry_version=7"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def _env(data_dir: Path, database_url: str, queue_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env.update(
        DJANGO_SETTINGS_MODULE="fixtrail.settings",
        PYTHONPATH=str(ROOT),
        FIXTRAIL_DATA_DIR=str(data_dir),
        FIXTRAIL_DATABASE_URL=database_url,
        FIXTRAIL_QUEUE_URL=queue_url,
        FIXTRAIL_BASE_URL="http://127.0.0.1:8000",
        FIXTRAIL_SECRET_KEY="bench-scale-secret-key-not-for-production",  # noqa: S106
        FIXTRAIL_LOG_LEVEL="WARNING",
        # The bench fills the queue faster than digest empties it.
        FIXTRAIL_QUEUE_MAX_ITEMS="0",
    )
    return env


def _start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    port = ingest_bench._free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(directory), "--appendonly", "yes", "--appendfsync",
         "everysec", "--save", "", "--logfile", str(directory / "redis.log")],
    )  # fmt: skip
    for _ in range(100):
        done = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
        )
        if "PONG" in done.stdout:
            return server, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.1)
    raise SystemExit("redis-server did not start")


def _redis(port_url: str, *args: str) -> str:
    parts = urlsplit(port_url)
    return subprocess.run(
        ["redis-cli", "-p", str(parts.port), *args],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _wait_serving(port: int) -> None:
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_health", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"web on port {port} did not start")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(60)


def _end_to_end(ports, dsn, envelopes, seconds, env, queue_url) -> dict:
    """Post unique envelopes for ``seconds`` over every web process at once,
    then wait for digest to store them; return counts and rates."""
    parts = urlsplit(dsn)
    before = int(_run_python(_COUNT, env))
    # More unique bodies than the web processes can take in ``seconds``
    # (bench/ingest.py: about 1,500/s per process here), so none repeats.
    prebuilt = [
        ingest_bench.build_requests(
            envelopes, dsn.replace(f":{parts.port}/", f":{port}/"), int(2500 * seconds)
        )
        for port in ports
    ]
    results: list[dict] = []
    started = time.monotonic()

    def post(port: int, requests: list[bytes]) -> None:
        results.append(
            ingest_bench.run_phase(
                ("127.0.0.1", port), requests, CONNECTIONS_PER_WEB, seconds, None
            )
        )

    threads = [
        threading.Thread(target=post, args=(port, requests))
        for port, requests in zip(ports, prebuilt, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent_done = time.monotonic()
    accepted = sum(r["statuses"].get(200, 0) for r in results)
    while int(_redis(queue_url, "xlen", STREAM)) > 0:
        if time.monotonic() - sent_done > DRAIN_TIMEOUT_SECONDS:
            raise SystemExit("digest did not drain in time")
        time.sleep(0.2)
    drained = time.monotonic()
    stored = int(_run_python(_COUNT, env)) - before
    return {
        "accepted": accepted,
        "stored": stored,
        "ingest_per_second": accepted / (sent_done - started),
        "digest_seconds_after": drained - sent_done,
        "end_to_end_per_second": stored / (drained - started),
    }


def _run_python(code: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--wrk-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        raise SystemExit("bench/scale.py needs wrk and redis-server")

    work = Path(tempfile.mkdtemp(prefix="fixtrail-bench-scale-"))
    name = f"fixtrail_bench_scale_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    (work / "redis").mkdir()
    redis_server, queue_url = _start_redis(work / "redis")
    try:
        env = _env(work / "admin", database_url, queue_url)
        (work / "admin").mkdir()
        subprocess.run([*FIXTRAIL, "manage", "migrate", "-v", "0"], env=env, check=True)
        made = json.loads(
            subprocess.run(
                [
                    *FIXTRAIL,
                    "bootstrap",
                    "--org",
                    "bench",
                    "--project",
                    "shop",
                    "--email",
                    "bench@example.org",
                    "--password",
                    "bench-password-1",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout  # fmt: skip
        )
        dsn = made["dsn"]
        key = urlsplit(dsn).username
        envelopes = ingest_bench.capture_envelopes(dsn, ingest_bench.DEFAULT_ERRORS)
        body = work / "one-envelope"
        body.write_bytes(envelopes[0])
        for webs, workers in CONFIGURATIONS:
            ports = [ingest_bench._free_port() for _ in range(webs)]
            processes = []
            for n, port in enumerate(ports):
                (work / f"web-{n}").mkdir(exist_ok=True)
                processes.append(
                    subprocess.Popen(
                        [*FIXTRAIL, "web", "--port", str(port), "--workers", "1"],
                        env=_env(work / f"web-{n}", database_url, queue_url),
                        cwd=ROOT,
                        start_new_session=True,
                    )  # fmt: skip
                )
            for port in ports:
                _wait_serving(port)
            raw = _wrk_raw(ports, key, body, made["project_id"], args.wrk_seconds)
            _redis(queue_url, "del", STREAM)
            for n in range(workers):
                (work / f"worker-{n}").mkdir(exist_ok=True)
                processes.append(
                    subprocess.Popen(
                        [*FIXTRAIL, "worker", "--name", f"bench-{n}"],
                        env=_env(work / f"worker-{n}", database_url, queue_url),
                        cwd=ROOT,
                        start_new_session=True,
                    )  # fmt: skip
                )
            time.sleep(3)  # workers load Django and fork their helper
            e2e = _end_to_end(ports, dsn, envelopes, args.seconds, env, queue_url)
            _stop(processes)
            print(
                f"web {webs} worker {workers}: wrk {raw:,.0f} req/s; "
                f"ingest {e2e['ingest_per_second']:,.0f} events/s; "
                f"end to end {e2e['end_to_end_per_second']:,.0f} events/s "
                f"(accepted {e2e['accepted']:,}, stored {e2e['stored']:,}, "
                f"digest done {e2e['digest_seconds_after']:.1f} s after the last)",
                flush=True,
            )
    finally:
        redis_server.terminate()
        redis_server.wait()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _wrk_raw(ports, key, body, project_id, seconds) -> float:
    script = body.with_suffix(".lua")
    script.write_text(_WRK_SCRIPT.format(key=key, body=body))
    runs = [
        subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS_PER_WEB}",
                f"-d{int(seconds)}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/api/{project_id}/envelope/",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for port in ports
    ]
    total = 0.0
    for run in runs:
        out = run.communicate()[0]
        total += float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    return total


if __name__ == "__main__":
    main()
