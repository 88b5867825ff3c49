"""What the SQLite file backend adds to the shared queue contract."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtrail.queue import Queue, QueueUnavailable, open_queue
from fixtrail.queue.sqlite import SqliteQueue


@pytest.fixture
def queue_url(sqlite_url: str) -> str:
    return sqlite_url


def _put_from_forked_child(queue: Queue) -> None:
    queue.put_many([b"from the child"])
    queue.close()


def test_it_runs_the_file_in_wal_mode(queue: Queue, tmp_path: Path) -> None:
    queue.put_many([b"x"])

    connection = sqlite3.connect(tmp_path / "queue.sqlite3")
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()

    assert mode == "wal"


def test_it_shares_one_file_between_named_queues(
    make_queue: Callable[..., Queue], tmp_path: Path
) -> None:
    make_queue("events").put_many([b"e"])
    make_queue("jobs").put_many([b"j1", b"j2"])

    connection = sqlite3.connect(tmp_path / "queue.sqlite3")
    rows = connection.execute(
        "SELECT name, count(*) FROM queue_message GROUP BY name ORDER BY name"
    ).fetchall()
    connection.close()

    assert rows == [("events", 1), ("jobs", 2)]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "queue.sqlite3",
        "queue.sqlite3-shm",
        "queue.sqlite3-wal",
    ]


def test_it_ignores_a_late_ack_for_a_reused_row_id(queue: Queue) -> None:
    queue.put_many([b"old"])
    (old,) = queue.read("worker", 10)
    queue.ack([old.id])
    # With the table empty, SQLite hands the same row id to the next insert.
    queue.put_many([b"new"])

    queue.ack([old.id])

    (new,) = queue.read("worker", 10)
    assert new.body == b"new"
    assert new.id.split(":")[0] == old.id.split(":")[0]
    assert new.id != old.id


def test_it_ignores_an_ack_for_an_unknown_id(queue: Queue) -> None:
    queue.put_many([b"x"])

    queue.ack(["999:1767225600.25"])

    assert queue.backlog().size == 1


@pytest.mark.parametrize("bad_id", ["nonsense", "12", "12:", ":1.5", "-1:1.5", "1-0"])
def test_it_rejects_an_id_it_never_issued(queue: Queue, bad_id: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^Not a SQLite queue message id: '{bad_id}'$"
    ):
        queue.ack([bad_id])


def test_it_accepts_full_synchronous_mode(tmp_path: Path) -> None:
    queue = open_queue(f"sqlite://{tmp_path / 'q.sqlite3'}?synchronous=full")
    queue.put_many([b"flushed"])

    messages = queue.read("worker", 10)
    queue.close()

    assert isinstance(queue, SqliteQueue)
    assert queue.synchronous == "FULL"
    assert [message.body for message in messages] == [b"flushed"]


def test_it_reports_a_file_it_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "queue.sqlite3"
    queue = open_queue(f"sqlite://{path}")

    with pytest.raises(QueueUnavailable) as caught:
        queue.put_many([b"lost?"])

    assert caught.value.message == (
        f"The SQLite queue at {path} failed: unable to open database file"
    )


def test_it_opens_a_new_connection_in_a_forked_child(queue: Queue) -> None:
    queue.put_many([b"from the parent"])
    child = multiprocessing.get_context("fork").Process(
        target=_put_from_forked_child, args=(queue,)
    )

    child.start()
    child.join(30)
    # The child closed its queue; the parent's connection must be untouched.
    queue.put_many([b"parent again"])

    assert child.exitcode == 0
    assert [message.body for message in queue.read("worker", 10)] == [
        b"from the parent",
        b"from the child",
        b"parent again",
    ]
