"""Real shared dependencies for the scale-out tests: a PostgreSQL database of
the test's own, and a Redis server of the test's own that the test may kill
and restart without disturbing the Redis other suites use."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.servers import POSTGRES_RUN, free_port

# The server every other test uses; only its admin database is touched, to
# create and drop the test's own database.
POSTGRES_ADMIN_URL = os.environ.get(
    "FIXTRAIL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
# The Redis database number of the scale-out suite (one per helper/suite).
REDIS_DB = 11
# These tests build the PostgreSQL + Redis set-up for themselves, so they
# prove the same thing whatever the suite runs on; they run in the suite's
# PostgreSQL + Redis run and are skipped in its SQLite run, which would only
# repeat them.
needs_postgres_run = pytest.mark.skipif(
    not POSTGRES_RUN,
    reason="scale-out tests run in the suite's PostgreSQL + Redis run",
)
# redis-server loads an append-only file of a few MB in well under a second.
REDIS_START_TIMEOUT_SECONDS = 15.0


class OwnRedis:
    """A redis-server on a free port with the append-only file on and an
    fsync per write (the operator guide's setting for losing nothing: with
    ``everysec`` a SIGKILL while the disk is slow loses the last writes);
    ``kill`` and ``start`` restart it with the same configuration and data
    directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        # Other suites on a shared machine start Redis servers and clients on
        # free ports too; a password keeps their clients out of this one
        # should a port be reused between them.
        self.password = secrets.token_hex(16)
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/{REDIS_DB}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and return once it answers PING."""
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.directory / "redis.log"),
                "--requirepass", self.password,
            ],
            start_new_session=True,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + REDIS_START_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError("redis-server did not answer in time")

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        assert self.process is not None  # start() ran in the fixture
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop the server for good, whatever state it is in."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis server of this test's own; skips when redis-server is absent."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = OwnRedis(directory)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skips when no
    PostgreSQL answers at FIXTRAIL_TEST_POSTGRES_URL."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2)
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_ADMIN_URL}")
    name = f"fixtrail_scaleout_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
