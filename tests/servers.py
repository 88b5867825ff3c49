"""Real Fixtrail servers for the tests that need one: granian serving
fixtrail.wsgi in its own process group, with a data directory of its own."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# Whether this is CI's PostgreSQL + Redis run of the suite.
POSTGRES_RUN = os.environ.get("FIXTRAIL_DATABASE_URL", "").startswith("postgres")
# Servers started with server_env() run on SQLite files of their own,
# whatever database the suite runs on: a test that only talks to such
# servers proves the same in both of CI's runs, so it runs in the SQLite one.
own_sqlite_servers = pytest.mark.skipif(
    POSTGRES_RUN,
    reason="its servers run on SQLite files of their own; the SQLite run covers it",
)

FIXTRAIL = [sys.executable, "-m", "fixtrail.cli"]
# Each helper process (a command, a query) starts Django: a few seconds.
COMMAND_TIMEOUT_SECONDS = 120

# granian plus Django start in about a second here; a loaded CI machine
# may need many times that.
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, base_url: str) -> dict[str, str]:
    """Return the environment of a server with its own SQLite database and
    queue in ``data_dir``: the caller's, minus every FIXTRAIL_ setting (so
    the suite's PostgreSQL run does not leak into it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env.update(
        DJANGO_SETTINGS_MODULE="fixtrail.settings",
        PYTHONPATH=str(REPO_ROOT),
        FIXTRAIL_DATA_DIR=str(data_dir),
        FIXTRAIL_DATABASE_URL="sqlite://fixtrail.sqlite3",
        FIXTRAIL_QUEUE_URL="sqlite://queue.sqlite3",
        FIXTRAIL_BASE_URL=base_url,
        FIXTRAIL_SECRET_KEY="test-server-secret-key-not-for-production",
        FIXTRAIL_LOG_LEVEL="WARNING",
    )
    return env


def start_granian(
    port: int, env: dict[str, str], *, workers: int = 1, log: object = None
) -> subprocess.Popen:
    """Start granian serving fixtrail.wsgi on ``port``, as the leader of its
    own process group (so a signal to the group reaches its workers)."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "granian", "--interface", "wsgi",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-ws", "--log-level", "warning", "fixtrail.wsgi:application",
        ],
        env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT if log else None,
        start_new_session=True,
    )  # fmt: skip


def wait_until_serving(port: int, process: subprocess.Popen, log: Path | None) -> None:
    """Return once the SDK endpoints answer; raise if the server died or
    did not answer in time (with its log, when there is one)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"granian exited with {process.returncode}:\n{_tail(log)}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            # A preflight needs no key and no project: it answers 200 as
            # soon as the SDK endpoints are up.
            connection.request("OPTIONS", "/api/1/envelope/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
        finally:
            connection.close()
    raise AssertionError(f"granian did not answer in time:\n{_tail(log)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL it if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_SECONDS)


def _tail(log: Path | None) -> str:
    return log.read_text()[-4000:] if log and log.exists() else "(no log)"


def run_fixtrail(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run ``fixtrail ARGS`` in a server's environment; return what it did."""
    return subprocess.run(
        [*FIXTRAIL, *args], env=env, cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=COMMAND_TIMEOUT_SECONDS,
    )  # fmt: skip


def query_server(env: dict[str, str], script: str) -> object:
    """Run ``script`` with Django set up on a server's settings (its own
    database) and return the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{script}"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
