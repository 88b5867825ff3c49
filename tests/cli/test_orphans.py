"""A supervisor killed outright takes its children with it, and a server
whose digest worker dies stops rather than take events it cannot store."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, own_sqlite_servers

pytestmark = own_sqlite_servers

FIXTRAIL = [sys.executable, "-m", "fixtrail.cli"]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the ppid follows its ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    return env | {
        "FIXTRAIL_DATA_DIR": str(tmp_path),
        "FIXTRAIL_BASE_URL": f"http://127.0.0.1:{port}",
    }


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*FIXTRAIL, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


_QUEUE_A_BIG_BATCH = """
import django
django.setup()
from fixtrail.projects.models import Project
from tests.digest.queueing import python_error, queue_payloads
queue_payloads(Project.objects.get(), [python_error()] * 300)
"""


def _queue_a_big_batch(env: dict[str, str]) -> None:
    bootstrap = ["bootstrap", "--org", "o", "--project", "p", "--email", "a@b.c"]
    subprocess.run(
        [*FIXTRAIL, *bootstrap, "--password", "pw-long-enough-1"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", _QUEUE_A_BIG_BATCH],
        env=env | {"DJANGO_SETTINGS_MODULE": "fixtrail.settings"},
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )  # fmt: skip


def _kill_all(supervisor: subprocess.Popen) -> None:
    for pid in _descendants(supervisor.pid) | {supervisor.pid}:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _wait_until_serving(supervisor: subprocess.Popen, port: int | None, family: int):
    """Wait until /_health answers (unless port is None) and the supervisor
    has at least ``family`` descendants."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if port is not None:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_health", timeout=2)
            if len(_descendants(supervisor.pid)) >= family:
                return
        except OSError:
            pass
        time.sleep(0.3)


@contextlib.contextmanager
def _serving_run(tmp_path: Path, options: list[str], family: int):
    """Start `fixtrail run` with ``options`` on a free port; yield the
    supervisor and the port once it serves (see _wait_until_serving), and
    kill whatever of its tree is left afterwards."""
    port = free_port()
    supervisor = _start(["run", *options, "--port", str(port)], _env(tmp_path, port))
    try:
        _wait_until_serving(supervisor, port, family)
        yield supervisor, port
    finally:
        _kill_all(supervisor)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize(
    ("command", "family"),
    [
        # One web worker is served by the supervisor itself; the digest
        # worker is its child.
        (["run", "--workers", "1"], 1),
        # granian's main process and two workers, the digest worker.
        (["run", "--workers", "2"], 3),
        (["web", "--workers", "2"], 3),
        # The worker forks its digest helper for a big batch.
        (["worker"], 1),
    ],
    ids=["run-1", "run-2", "web-2", "worker"],
)
def test_children_exit_when_the_supervisor_is_killed(tmp_path, command, family):
    port = free_port()
    env = _env(tmp_path, port)
    if command[0] != "run":
        subprocess.run([*FIXTRAIL, "manage", "migrate", "-v", "0"], env=env, check=True)
    if command[0] == "worker":
        _queue_a_big_batch(env)
    serves = command[0] != "worker"
    if serves:
        command = [*command, "--port", str(port)]
    supervisor = _start(command, env)
    try:
        _wait_until_serving(supervisor, port if serves else None, family)
        family = _descendants(supervisor.pid)
        assert family, "the supervisor started no children"
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in family):
            time.sleep(0.2)
        assert [p for p in family if _alive(p)] == []
        if serves:
            assert _port_open(port) is False
    finally:
        _kill_all(supervisor)


@pytest.mark.skipif(sys.platform != "linux", reason="the process tree is read in /proc")
def test_run_with_one_web_worker_stops_when_its_digest_worker_dies(tmp_path):
    with _serving_run(tmp_path, ["--workers", "1"], 1) as (supervisor, port):
        # The supervisor answers HTTP itself: its only child is the worker.
        (worker,) = [
            pid for pid in _descendants(supervisor.pid)
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            == supervisor.pid
        ]  # fmt: skip
        assert b"worker" in Path(f"/proc/{worker}/cmdline").read_bytes()
        os.kill(worker, signal.SIGKILL)
        # A server that no longer digests must not go on taking events.
        assert supervisor.wait(30) != 0
        assert _port_open(port) is False


@pytest.mark.skipif(sys.platform != "linux", reason="the process tree is read in /proc")
def test_run_with_one_web_worker_stops_on_sighup(tmp_path):
    with _serving_run(tmp_path, ["--workers", "1"], 1) as (supervisor, port):
        family = _descendants(supervisor.pid)

        supervisor.send_signal(signal.SIGHUP)

        assert supervisor.wait(30) == 0
        assert [p for p in family if _alive(p)] == []
        assert _port_open(port) is False
