"""open_queue: picking a backend from a URL and rejecting bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtrail.queue import VISIBILITY_TIMEOUT_SECONDS, open_queue
from fixtrail.queue.redis import RedisQueue
from fixtrail.queue.sqlite import SqliteQueue


def test_it_opens_a_sqlite_file(tmp_path: Path) -> None:
    queue = open_queue(f"sqlite://{tmp_path}/queue.sqlite3", "jobs")

    assert isinstance(queue, SqliteQueue)
    assert queue.path == tmp_path / "queue.sqlite3"
    assert queue.name == "jobs"
    assert queue.synchronous == "NORMAL"
    assert queue.visibility_timeout == VISIBILITY_TIMEOUT_SECONDS


def test_it_accepts_four_slashes_for_an_absolute_path(tmp_path: Path) -> None:
    queue = open_queue(f"sqlite:///{tmp_path}/queue.sqlite3")

    assert queue.path == tmp_path / "queue.sqlite3"


def test_it_decodes_a_percent_encoded_sqlite_path(tmp_path: Path) -> None:
    queue = open_queue(f"sqlite://{tmp_path}/my%20queue.sqlite3")

    assert queue.path == tmp_path / "my queue.sqlite3"


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_it_opens_redis_without_connecting(scheme: str) -> None:
    # Port 1 is closed: opening must not touch the network.
    queue = open_queue(f"{scheme}://127.0.0.1:1/3", visibility_timeout=5)

    assert isinstance(queue, RedisQueue)
    assert queue.key == "fixtrail:queue:events"
    assert queue.visibility_timeout == 5


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "http://example.org/queue",
            r"^Unsupported queue URL scheme 'http': expected sqlite:///absolute/path, "
            r"redis://host:port/db or rediss://host:port/db$",
        ),
        ("/var/lib/fixtrail/queue.sqlite3", r"^Unsupported queue URL scheme missing:"),
        ("", r"^Unsupported queue URL scheme missing:"),
        ("amqp://user:secret@host/", r"^Unsupported queue URL scheme 'amqp':"),
        ("sqlite://relative/queue.sqlite3", r"^A SQLite queue URL needs an absolute"),
        ("sqlite:queue.sqlite3", r"^A SQLite queue URL needs an absolute"),
        ("sqlite:///", r"^A SQLite queue URL needs an absolute"),
        (
            "sqlite:///tmp/q.sqlite3?sync=full",
            r"^Unknown SQLite queue URL option 'sync': "
            r"only 'synchronous' is supported$",
        ),
        (
            "sqlite:///tmp/q.sqlite3?synchronous=off",
            r"^synchronous must be one of NORMAL, FULL, got 'off'$",
        ),
    ],
)
def test_it_rejects_a_bad_url(url: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        open_queue(url)

    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "Events", "a:b", "a b", "é", "x" * 65])
def test_it_rejects_a_bad_queue_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        ValueError, match=r"^Invalid queue name .*: use 1 to 64 characters"
    ):
        open_queue(f"sqlite://{tmp_path}/q.sqlite3", name)


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_it_rejects_a_visibility_timeout_that_is_not_positive(
    tmp_path: Path, timeout: float
) -> None:
    with pytest.raises(
        ValueError, match=r"^visibility_timeout must be positive seconds"
    ):
        open_queue(f"sqlite://{tmp_path}/q.sqlite3", visibility_timeout=timeout)
