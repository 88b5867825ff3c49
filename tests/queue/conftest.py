"""Fixtures that open real queues on both backends, with no Django needed.

``queue_url`` is parametrized over a SQLite file in the test's temporary
directory and the local Redis; each test gets its own queue name, and the
Redis stream is deleted afterwards. Redis tests skip only when no Redis
answers at REDIS_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from fixtrail.queue import Queue, open_queue

REPO_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("FIXTRAIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return client.ping() is True
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; skips the test when it does not answer."""
    if not _redis_reachable():
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test (or earlier run) uses."""
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite queue file in the test's own directory."""
    return f"sqlite://{tmp_path / 'queue.sqlite3'}"


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest) -> str:
    """A queue URL for each backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("redis_url")


@pytest.fixture
def make_queue(queue_url: str, queue_name: str) -> Iterator[Callable[..., Queue]]:
    """Open queues on ``queue_url`` (same name unless given); clean up after.

    Every queue opened is closed, and on Redis every stream used is deleted.
    """
    opened: list[Queue] = []
    names = {queue_name}

    def make(name: str = queue_name, **options: float) -> Queue:
        queue = open_queue(queue_url, name, **options)
        opened.append(queue)
        names.add(name)
        return queue

    yield make
    for queue in opened:
        queue.close()
    if queue_url.startswith("redis"):
        client = redis.Redis.from_url(queue_url)
        client.delete(*(f"fixtrail:queue:{name}" for name in names))
        client.close()


@pytest.fixture
def queue(make_queue: Callable[..., Queue]) -> Queue:
    """A queue with the default visibility timeout."""
    return make_queue()


@pytest.fixture
def start_child() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start Python children running a snippet; kill leftovers afterwards.

    ``start_child(code, *args)`` runs ``code`` with ``args`` in
    ``sys.argv[1:]``, importing this checkout's fixtrail package, and talks
    to it over line-buffered text pipes.
    """
    children: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate()
