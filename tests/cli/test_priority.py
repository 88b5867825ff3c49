"""`fixtrail run` gives digest the CPU first: its web runs nicer than the
digest worker, so a saturated box stores what it accepted before it takes
more (see WEB_NICENESS)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fixtrail.cli import WEB_NICENESS
from tests.cli.test_orphans import _descendants, _serving_run
from tests.servers import own_sqlite_servers

pytestmark = [
    own_sqlite_servers,
    pytest.mark.skipif(sys.platform != "linux", reason="threads are read in /proc"),
]


def _niceness_by_thread(pid: int) -> dict[str, set[int]]:
    """Return the niceness of the process's threads, by thread name; the
    main thread's under "main" (its name is the interpreter's file name)."""
    found: dict[str, set[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if task.name == str(pid):
            name = "main"
        # Field 19 of stat; the fields after ")" start at field 3.
        found.setdefault(name, set()).add(int(stat.rsplit(")", 1)[1].split()[16]))
    return found


def _command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.parametrize(
    ("options", "web_niceness"),
    [([], WEB_NICENESS), (["--web-niceness", "0"], 0)],
    ids=["default", "same-priority"],
)
def test_run_serves_the_web_nicer_than_its_digest_worker(
    tmp_path, options, web_niceness
):
    with _serving_run(tmp_path, ["--workers", "1", *options], 1) as (supervisor, _):
        web = _niceness_by_thread(supervisor.pid)
        # granian's runtime threads answer the requests; with one web worker
        # they live in the supervisor.
        assert web["tokio-rt-worker"] == {web_niceness}
        assert web["main"] == {web_niceness}
        (worker,) = _descendants(supervisor.pid)
        assert b"cli\0worker" in _command_line(worker)
        assert set().union(*_niceness_by_thread(worker).values()) == {0}


def test_run_with_web_processes_starts_them_nicer(tmp_path):
    with _serving_run(tmp_path, ["--workers", "2"], 4) as (supervisor, _):
        niceness = {
            pid: set().union(*_niceness_by_thread(pid).values())
            for pid in _descendants(supervisor.pid)
        }
        web = [pid for pid in niceness if b"granian" in _command_line(pid)]
        workers = [pid for pid in niceness if b"cli\0worker" in _command_line(pid)]
        # granian's main process and its two workers.
        assert len(web) == 3
        assert all(niceness[pid] == {WEB_NICENESS} for pid in web)
        assert len(workers) == 1
        assert niceness[workers[0]] == {0}
