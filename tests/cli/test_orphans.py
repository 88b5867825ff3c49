"""A supervisor killed outright takes its children with it."""

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


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("command", ["run", "web", "worker"])
def test_children_exit_when_the_supervisor_is_killed(tmp_path, command):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env |= {
        "FIXTRAIL_DATA_DIR": str(tmp_path),
        "FIXTRAIL_BASE_URL": f"http://127.0.0.1:{port}",
    }
    if command != "run":
        subprocess.run([*FIXTRAIL, "manage", "migrate", "-v", "0"], env=env, check=True)
    args = [command] if command == "worker" else [command, "--port", str(port)]
    supervisor = subprocess.Popen(
        [*FIXTRAIL, *args, *(["--workers", "2"] if command != "worker" else [])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if command == "worker":
                # The worker forks its digest helper once it is running.
                if len(_descendants(supervisor.pid)) >= 1:
                    break
            else:
                try:
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/_health", timeout=2
                    )
                    if len(_descendants(supervisor.pid)) >= 3:
                        break
                except OSError:
                    pass
            time.sleep(0.3)
        family = _descendants(supervisor.pid)
        assert family, "the supervisor started no children"
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in family):
            time.sleep(0.2)
        assert [p for p in family if _alive(p)] == []
        if command != "worker":
            assert _port_open(port) is False
    finally:
        for pid in _descendants(supervisor.pid) | {supervisor.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
