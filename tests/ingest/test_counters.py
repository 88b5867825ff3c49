from __future__ import annotations

import os
import uuid

import pytest
import redis

from fixtrail.ingest.counters import (
    REDIS_KEY_PREFIX,
    RedisCounterStore,
    SqliteCounterStore,
    consume_or_allow,
)
from fixtrail.ingest.ratelimits import Limit

NOW = 1714557600.0
REDIS_URL = os.environ.get("FIXTRAIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _limits(prefix: str) -> list[Limit]:
    return [
        Limit(f"{prefix}:key", 2, 120, 30, "key", "key_rate_limit"),
        Limit(f"{prefix}:project", 3, 120, 30, "project", "project_rate_limit"),
    ]


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteCounterStore(tmp_path / "ratelimits.sqlite3")
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield RedisCounterStore(REDIS_URL)
    keys = list(client.scan_iter(f"{REDIS_KEY_PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_it_allows_until_the_narrowest_limit(store):
    limits = _limits(uuid.uuid4().hex)
    assert store.consume(limits, 1, NOW) is None
    assert store.consume(limits, 1, NOW) is None
    assert store.consume(limits, 1, NOW) == limits[0]


def test_it_increments_nothing_when_it_refuses(store):
    prefix = uuid.uuid4().hex
    key_limit, project_limit = _limits(prefix)
    assert store.consume([key_limit, project_limit], 2, NOW) is None
    assert store.consume([key_limit, project_limit], 1, NOW) == key_limit
    # The refused event did not use up the project's room.
    assert store.consume([project_limit], 1, NOW) is None
    assert store.consume([project_limit], 1, NOW) == project_limit


def test_it_refuses_an_amount_larger_than_the_room(store):
    limits = _limits(uuid.uuid4().hex)
    assert store.consume(limits, 3, NOW) == limits[0]


def test_it_starts_over_when_a_sqlite_counter_expired(tmp_path):
    store = SqliteCounterStore(tmp_path / "ratelimits.sqlite3")
    limit = Limit("k", 1, 60, 30, "key", "key_rate_limit")
    assert store.consume([limit], 1, NOW) is None
    assert store.consume([limit], 1, NOW + 59) == limit
    assert store.consume([limit], 1, NOW + 61) is None


def test_it_allows_everything_without_limits(settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    assert consume_or_allow([], 1, NOW) is None


def test_it_fails_open_when_the_store_is_unreachable(settings, caplog):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    limit = Limit("k", 1, 60, 30, "key", "key_rate_limit")
    assert consume_or_allow([limit], 5, NOW) is None
    assert "rate-limit counter store failed; allowing the event" in caplog.text
