"""What the Redis Streams backend adds to the shared queue contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from fixtrail.queue import Queue, QueueUnavailable, open_queue

# Nothing listens on port 1, so connecting is refused at once.
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def queue_url(redis_url: str) -> str:
    return redis_url


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def key(queue_name: str) -> str:
    return f"fixtrail:queue:{queue_name}"


def test_it_stores_bodies_as_stream_entries(
    queue: Queue, client: redis.Redis, key: str
) -> None:
    queue.put_many([b"one", b"two"])

    entries = client.xrange(key)

    assert [fields for _id, fields in entries] == [{b"b": b"one"}, {b"b": b"two"}]


def test_it_delivers_entries_added_before_the_group_existed(
    queue: Queue, client: redis.Redis, key: str
) -> None:
    queue.put_many([b"early"])
    assert client.exists(key) == 1
    assert client.xinfo_groups(key) == []

    messages = queue.read("worker", 10)

    assert [message.body for message in messages] == [b"early"]


def test_it_deletes_acked_entries_from_stream_and_pending_list(
    queue: Queue, client: redis.Redis, key: str
) -> None:
    queue.put_many([b"a", b"b"])
    messages = queue.read("worker", 10)

    queue.ack([message.id for message in messages])

    assert client.xlen(key) == 0
    assert client.xpending(key, "fixtrail")["pending"] == 0


def test_it_recreates_the_group_when_the_stream_was_deleted(
    queue: Queue, client: redis.Redis, key: str
) -> None:
    queue.put_many([b"before"])
    queue.read("worker", 10)
    client.delete(key)
    queue.put_many([b"after"])

    messages = queue.read("worker", 10)

    assert [(message.body, message.deliveries) for message in messages] == [
        (b"after", 1)
    ]


def test_it_ignores_an_ack_for_an_unknown_id(
    queue: Queue, client: redis.Redis, key: str
) -> None:
    queue.put_many([b"x"])

    queue.ack(["1-0"])

    assert client.xlen(key) == 1


def test_it_keeps_an_unread_entry_whose_id_another_queue_acks(
    make_queue: Callable[..., Queue], client: redis.Redis, key: str, queue_name: str
) -> None:
    # Stream ids are server times, so two streams can hold the same id; an
    # ack on one queue of an id read from the other must not delete this
    # queue's entry, which nobody has read yet.
    events, other = make_queue(), make_queue(f"{queue_name}-other")
    assert events.read("worker", 10) == []
    events.put_many([b"event"])
    ((entry_id, _fields),) = client.xrange(key)
    client.xadd(f"{key}-other", {b"b": b"other"}, id=entry_id)
    (message,) = other.read("worker", 10)
    assert message.id == entry_id.decode()

    events.ack([message.id])

    assert [message.body for message in events.read("worker", 10)] == [b"event"]


@pytest.mark.parametrize("bad_id", ["nonsense", "12", "12-", "-1", "1:1.5"])
def test_it_rejects_an_id_it_never_issued(queue: Queue, bad_id: str) -> None:
    with pytest.raises(ValueError, match=rf"^Not a Redis stream id: '{bad_id}'$"):
        queue.ack([bad_id])


@pytest.mark.parametrize(
    "operation",
    [
        lambda queue: queue.put_many([b"x"]),
        lambda queue: queue.read("worker", 10),
        lambda queue: queue.read("worker", 10, block_ms=500),
        lambda queue: queue.ack(["1-0"]),
        lambda queue: queue.backlog(),
    ],
    ids=["put_many", "read", "read_blocking", "ack", "backlog"],
)
def test_it_reports_redis_down_as_unavailable(
    operation: Callable[[Queue], object],
) -> None:
    queue = open_queue(CLOSED_PORT_URL, "events")

    with pytest.raises(QueueUnavailable) as caught:
        operation(queue)

    assert caught.value.message == (
        "The Redis queue fixtrail:queue:events at 127.0.0.1:1 failed: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused."
    )


def test_it_keeps_the_password_out_of_errors() -> None:
    queue = open_queue("redis://:s3cret@127.0.0.1:1/0", "events")

    with pytest.raises(QueueUnavailable) as caught:
        queue.put_many([b"x"])

    assert "s3cret" not in caught.value.message
