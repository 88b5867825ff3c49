"""Two servers on one port: the second refuses to start, whatever holds it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

from tests.cli.test_commands import FIXTRAIL, _env, _run
from tests.servers import (
    free_port,
    own_sqlite_servers,
    server_env,
    start_granian,
    stop,
    wait_until_serving,
)

START_TIMEOUT_SECONDS = 60


def _wait_for_health(port: int, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/_health", timeout=2
            ) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"fixtrail run did not answer:\n{log.read_text()}")


@own_sqlite_servers
def test_it_refuses_to_start_a_second_server_on_a_held_port(tmp_path):
    port = free_port()
    log = tmp_path / "first.log"
    # No FIXTRAIL_BASE_URL: --port alone must decide the links it prints.
    env = _env(tmp_path / "first")
    with log.open("w") as out:
        first = subprocess.Popen(
            FIXTRAIL + ["run", "--port", str(port), "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_health(port, first, log)
        for command in ("run", "web"):
            second = _run([command, "--port", str(port)], _env(tmp_path / command))
            assert second.returncode == 1
            assert second.stderr.strip() == (
                f"fixtrail: 127.0.0.1:{port} is already in use by another Fixtrail "
                "server; stop it, or choose another port with --port"
            )
            # Refused before migrating: the second data directory stays empty.
            assert not (tmp_path / command / "fixtrail.sqlite3").exists()
        # The first server still answers every request alone.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_health") as response:
            assert response.status == 200
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(30)
    output = log.read_text()
    assert f"http://127.0.0.1:{port}/setup/?token=" in output
    assert f"links and DSNs use http://127.0.0.1:{port})" in output


@own_sqlite_servers
def test_it_refuses_a_port_a_foreign_granian_holds(tmp_path):
    # granian listens with SO_REUSEPORT, which would let a second granian in.
    port = free_port()
    server = start_granian(port, server_env(tmp_path, f"http://127.0.0.1:{port}"))
    try:
        wait_until_serving(port, server, None)
        result = _run(["web", "--port", str(port)], _env(tmp_path / "web"))
    finally:
        stop(server)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"fixtrail: 127.0.0.1:{port} is already in use by another server; "
        "stop it, or choose another port with --port"
    )
