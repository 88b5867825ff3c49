"""Forwarding between two real Fixtrail servers (web and worker processes
each): the target is down when the event arrives, comes up later, and the
event reaches it through the forwarding job's retry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sentry_sdk

from tests.conftest import REPO_ROOT
from tests.servers import (
    FIXTRAIL,
    free_port,
    own_sqlite_servers,
    query_server,
    run_fixtrail,
    server_env,
    start_granian,
    stop,
    wait_until_serving,
)

# The first retry of a job comes 30 s after it failed (fixtrail.jobs.runner).
ARRIVAL_TIMEOUT_SECONDS = 90
_EVENTS = """
import json
from fixtrail.events.models import Event
print(json.dumps(sorted(Event.objects.values_list("event_id", flat=True))))
"""


def _cli(env: dict[str, str], *args: str) -> str:
    done = run_fixtrail(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _event_ids(env: dict[str, str]) -> object:
    return query_server(env, _EVENTS)


class Server:
    """One Fixtrail host: its data directory, web process and worker."""

    def __init__(self, directory: Path, name: str) -> None:
        self.port = free_port()
        data = directory / name
        data.mkdir()
        self.env = server_env(data, f"http://127.0.0.1:{self.port}")
        self.processes: list[subprocess.Popen] = []
        _cli(self.env, "manage", "migrate", "-v", "0")
        made = _cli(
            self.env, "bootstrap", "--org", "acme", "--project", "backend",
            "--email", "ops@example.com", "--password", "a long password 1",
        )  # fmt: skip
        self.dsn = json.loads(made)["dsn"]

    def start(self) -> None:
        web = start_granian(self.port, self.env)
        worker = subprocess.Popen(
            [*FIXTRAIL, "worker"], env=self.env, cwd=REPO_ROOT,
            start_new_session=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.processes += [web, worker]
        wait_until_serving(self.port, web, None)

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


@pytest.mark.skipif(sys.platform != "linux", reason="uses process groups")
@own_sqlite_servers
def test_an_event_reaches_a_target_that_was_down_when_it_arrived(tmp_path):
    source, target = Server(tmp_path, "fixtrail"), Server(tmp_path, "sentry")
    shown = json.loads(
        _cli(source.env, "forward", "--project", "acme/backend", "--to", target.dsn)
    )
    assert shown["forwarding"]["to"] == f"http://127.0.0.1:{target.port}/api/1"
    source.start()
    try:
        sentry_sdk.init(dsn=source.dsn, default_integrations=False)
        try:
            {}["sku"]
        except KeyError:
            event_id = sentry_sdk.capture_exception()
        sentry_sdk.get_client().close(timeout=10)
        sentry_sdk.init()
        # Nobody listens on the target's port yet: the job fails and waits.
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            status = json.loads(
                _cli(source.env, "forward", "--project", "acme/backend")
            )["forwarding"]
            if status["last_error"]:
                break
            time.sleep(0.5)
        assert status["waiting"] == 1 and status["forwarded"] == 0
        assert f"127.0.0.1:{target.port}" in status["last_error"]
        target.start()
        while time.monotonic() < deadline and event_id not in _event_ids(target.env):
            time.sleep(1)
        status = json.loads(_cli(source.env, "forward", "--project", "acme/backend"))
    finally:
        source.stop()
        target.stop()
    assert _event_ids(target.env) == [event_id]
    assert _event_ids(source.env) == [event_id]
    forwarded = status["forwarding"]
    assert (forwarded["forwarded"], forwarded["waiting"]) == (1, 0)
