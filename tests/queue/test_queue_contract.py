"""The Queue contract, checked against every backend (SQLite and Redis)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

from fixtrail.queue import MAX_READ_BATCH, Backlog, Message, Queue, QueueUnavailable

# Short enough to keep redelivery tests fast, long enough that a loaded
# machine runs a read-then-read sequence well inside it.
SHORT_VISIBILITY_SECONDS = 0.3

# Claims of a consumer that is killed: long enough for the test to check
# that nobody else gets the messages before it runs out.
KILLED_CONSUMER_VISIBILITY_SECONDS = 1.5

# Upper bound for anything a test waits on, so a bug fails instead of hangs.
PATIENCE_SECONDS = 30

CONSUMER_CHILD = """
import sys, time
from fixtrail.queue import open_queue

url, name, consumer = sys.argv[1:4]
queue = open_queue(url, name)
print("ready", flush=True)
sys.stdin.readline()
while batch := queue.read(consumer, 10, block_ms=300):
    for message in batch:
        print(message.body.decode(), flush=True)
    time.sleep(0.002)
    queue.ack([message.id for message in batch])
queue.close()
"""

CLAIM_AND_HANG_CHILD = """
import sys, time
from fixtrail.queue import open_queue

url, name, timeout = sys.argv[1:4]
queue = open_queue(url, name, visibility_timeout=float(timeout))
batch = queue.read("doomed", 100)
print(" ".join(message.body.decode() for message in batch), flush=True)
time.sleep(600)
"""

PRODUCER_CHILD = """
import sys
from fixtrail.queue import open_queue

url, name = sys.argv[1:3]
queue = open_queue(url, name)
number = 0
while True:
    queue.put_many([b"%d" % number])
    print(number, flush=True)
    number += 1
"""


def _drain(queue: Queue) -> list[bytes]:
    bodies = []
    while batch := queue.read("drain", MAX_READ_BATCH):
        bodies += [message.body for message in batch]
        queue.ack([message.id for message in batch])
    return bodies


def test_it_round_trips_bodies_in_order(queue: Queue) -> None:
    queue.put_many([b"first", b"second"])
    queue.put_many([b"\x00binary\xff"])

    messages = queue.read("worker", 10)

    assert [message.body for message in messages] == [
        b"first",
        b"second",
        b"\x00binary\xff",
    ]
    assert [message.deliveries for message in messages] == [1, 1, 1]
    assert len({message.id for message in messages}) == 3


def test_it_removes_acked_messages(queue: Queue) -> None:
    queue.put_many([b"a", b"b"])
    first, second = queue.read("worker", 10)

    queue.ack([first.id])

    assert queue.backlog().size == 1
    assert queue.read("worker", 10) == []  # b is still claimed by worker


def test_it_reads_at_most_count_messages(queue: Queue) -> None:
    queue.put_many([b"1", b"2", b"3", b"4", b"5"])

    first = queue.read("worker", 3)
    rest = queue.read("worker", 3)

    assert [message.body for message in first] == [b"1", b"2", b"3"]
    assert [message.body for message in rest] == [b"4", b"5"]


def test_it_caps_a_read_at_the_max_batch(queue: Queue) -> None:
    queue.put_many([b"x"] * (MAX_READ_BATCH + 1))

    messages = queue.read("worker", MAX_READ_BATCH * 5)

    assert len(messages) == MAX_READ_BATCH


def test_it_does_nothing_for_empty_puts_and_acks(queue: Queue) -> None:
    queue.put_many([])
    queue.ack([])

    assert queue.backlog() == Backlog(size=0, oldest_age_seconds=None)


def test_it_rejects_a_body_that_is_not_bytes(queue: Queue) -> None:
    with pytest.raises(
        TypeError, match=r"^Queue bodies must be bytes, not <class 'str'>$"
    ):
        queue.put_many([b"fine", "text"])  # type: ignore[list-item]

    # All or nothing: the good body before the bad one is not stored either.
    assert queue.backlog().size == 0


@pytest.mark.parametrize(
    ("count", "block_ms", "error"),
    [
        (0, 0, r"^count must be at least 1, got 0$"),
        (-5, 0, r"^count must be at least 1, got -5$"),
        (1, -1, r"^block_ms must not be negative, got -1$"),
    ],
)
def test_it_rejects_bad_read_arguments(
    queue: Queue, count: int, block_ms: int, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        queue.read("worker", count, block_ms)


def test_it_returns_nothing_after_blocking_on_an_empty_queue(queue: Queue) -> None:
    started = time.monotonic()

    messages = queue.read("worker", 10, block_ms=300)

    assert messages == []
    assert time.monotonic() - started >= 0.3


def test_it_returns_early_when_a_message_arrives_while_blocking(
    make_queue: Callable[..., Queue],
) -> None:
    consumer, producer = make_queue(), make_queue()
    timer = threading.Timer(0.2, producer.put_many, args=([b"late"],))
    timer.start()
    started = time.monotonic()

    messages = consumer.read("worker", 10, block_ms=PATIENCE_SECONDS * 1000)
    # The put may still await its reply; closing under it would break it.
    timer.join(PATIENCE_SECONDS)

    assert [message.body for message in messages] == [b"late"]
    assert time.monotonic() - started < PATIENCE_SECONDS / 2


def test_it_redelivers_after_the_visibility_timeout(
    make_queue: Callable[..., Queue],
) -> None:
    queue = make_queue(visibility_timeout=SHORT_VISIBILITY_SECONDS)
    queue.put_many([b"job"])
    (first,) = queue.read("slow", 10)
    assert queue.read("other", 10) == []
    time.sleep(SHORT_VISIBILITY_SECONDS + 0.1)

    messages = queue.read("other", 10)

    assert messages == [Message(id=first.id, body=b"job", deliveries=2)]


def test_it_does_not_redeliver_acked_messages(make_queue: Callable[..., Queue]) -> None:
    queue = make_queue(visibility_timeout=SHORT_VISIBILITY_SECONDS)
    queue.put_many([b"job"])
    queue.ack([message.id for message in queue.read("worker", 10)])
    time.sleep(SHORT_VISIBILITY_SECONDS + 0.1)

    messages = queue.read("worker", 10)

    assert messages == []
    assert queue.backlog().size == 0


def test_it_keeps_named_queues_apart(
    make_queue: Callable[..., Queue], queue_name: str
) -> None:
    events, other = make_queue(), make_queue(f"{queue_name}-other")
    events.put_many([b"event"])
    other.put_many([b"other"])

    messages = other.read("worker", 10)
    events.ack([message.id for message in messages])

    assert [message.body for message in messages] == [b"other"]
    # An id from another queue acks nothing here.
    assert other.backlog().size == 1
    assert [message.body for message in events.read("worker", 10)] == [b"event"]


def test_it_keeps_messages_across_close_and_reopen(
    make_queue: Callable[..., Queue],
) -> None:
    writer = make_queue()
    writer.put_many([b"kept-1", b"kept-2"])
    writer.close()

    messages = make_queue().read("worker", 10)

    assert [message.body for message in messages] == [b"kept-1", b"kept-2"]


def test_it_reports_an_empty_backlog(queue: Queue) -> None:
    assert queue.backlog() == Backlog(size=0, oldest_age_seconds=None)


def test_it_reports_backlog_size_and_age(queue: Queue) -> None:
    queue.put_many([b"a", b"b", b"c"])
    time.sleep(0.2)

    backlog = queue.backlog()

    assert backlog.size == 3
    assert 0.2 <= backlog.oldest_age_seconds < PATIENCE_SECONDS


def test_it_counts_messages_in_flight_until_acked(queue: Queue) -> None:
    queue.put_many([b"a", b"b", b"c"])
    first, *_ = queue.read("worker", 2)
    assert queue.backlog().size == 3

    queue.ack([first.id])

    assert queue.backlog().size == 2


def test_it_refuses_work_after_close(make_queue: Callable[..., Queue]) -> None:
    queue = make_queue()
    queue.put_many([b"before"])
    queue.close()

    with pytest.raises(QueueUnavailable, match=r"has been closed\.$"):
        queue.put_many([b"late"])


def test_it_takes_puts_and_reads_from_many_threads(queue: Queue) -> None:
    expected = [b"%d-%d" % (thread, n) for thread in range(4) for n in range(50)]
    received: list[list[bytes]] = [[] for _ in range(4)]

    def produce(thread: int) -> None:
        for n in range(50):
            queue.put_many([b"%d-%d" % (thread, n)])

    def consume(thread: int) -> None:
        while batch := queue.read(f"thread-{thread}", 7, block_ms=200):
            received[thread] += [message.body for message in batch]
            queue.ack([message.id for message in batch])

    for target in (produce, consume):
        threads = [threading.Thread(target=target, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(PATIENCE_SECONDS)

    everything = [body for bodies in received for body in bodies]
    assert sorted(everything) == sorted(expected)
    assert queue.backlog().size == 0


def test_it_never_hands_a_message_to_two_consuming_processes(
    queue: Queue,
    queue_url: str,
    queue_name: str,
    start_child: Callable[..., subprocess.Popen[str]],
) -> None:
    expected = sorted(f"m{n:04d}" for n in range(1000))
    queue.put_many([body.encode() for body in expected])
    children = [
        start_child(CONSUMER_CHILD, queue_url, queue_name, f"consumer-{n}")
        for n in range(2)
    ]
    for child in children:
        assert child.stdout.readline() == "ready\n"
    # Both start together, so their reads really interleave.
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()

    outputs = [child.communicate(timeout=PATIENCE_SECONDS)[0] for child in children]

    first, second = (output.split() for output in outputs)
    assert [child.returncode for child in children] == [0, 0]
    assert sorted(first + second) == expected
    assert set(first) & set(second) == set()
    # Both did some of the work, or the test proved nothing about sharing.
    assert first != []
    assert second != []
    assert queue.backlog().size == 0


def test_it_gives_a_killed_consumers_messages_to_another(
    make_queue: Callable[..., Queue],
    queue_url: str,
    queue_name: str,
    start_child: Callable[..., subprocess.Popen[str]],
) -> None:
    queue = make_queue(visibility_timeout=KILLED_CONSUMER_VISIBILITY_SECONDS)
    queue.put_many([b"a", b"b", b"c"])
    child = start_child(
        CLAIM_AND_HANG_CHILD,
        queue_url,
        queue_name,
        str(KILLED_CONSUMER_VISIBILITY_SECONDS),
    )
    assert child.stdout.readline() == "a b c\n"
    child.send_signal(signal.SIGKILL)
    assert child.wait(PATIENCE_SECONDS) == -signal.SIGKILL
    assert queue.read("survivor", 10) == []  # still claimed by the dead child

    messages = queue.read("survivor", 10, block_ms=PATIENCE_SECONDS * 1000)

    assert [(message.body, message.deliveries) for message in messages] == [
        (b"a", 2),
        (b"b", 2),
        (b"c", 2),
    ]


def test_it_keeps_every_put_that_returned_before_a_sigkill(
    queue: Queue,
    queue_url: str,
    queue_name: str,
    start_child: Callable[..., subprocess.Popen[str]],
) -> None:
    child = start_child(PRODUCER_CHILD, queue_url, queue_name)
    for _ in range(300):
        child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    assert child.wait(PATIENCE_SECONDS) == -signal.SIGKILL
    # Only whole lines: the kill may land between a number and its newline.
    rest = child.stdout.read()
    confirmed_lines = rest.split("\n")[:-1]
    last_confirmed = int(confirmed_lines[-1]) if confirmed_lines else 299

    stored = sorted(int(body) for body in _drain(queue))

    # Every put that returned is there, in order, once; at most one more
    # (stored, killed before it could say so) follows.
    assert stored[: last_confirmed + 1] == list(range(last_confirmed + 1))
    assert stored[last_confirmed + 1 :] in ([], [last_confirmed + 1])
