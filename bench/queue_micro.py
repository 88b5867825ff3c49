"""Micro benchmark of the queue backends: puts/s and read+ack/s.

Run from the repository root::

    .venv/bin/python bench/queue_micro.py [--messages 20000] [--body-bytes 3500]

Ingest calls put_many once per request with one item, so "put x1" is the
figure that bounds ingest; digest reads and acks batches of 500. Each
backend gets a fresh queue: SQLite in a temporary directory on the same disk
as the data directory would be, Redis under a throwaway queue name that is
deleted afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtrail.queue import Queue, QueueUnavailable, open_queue  # noqa: E402

READ_BATCH = 500
DEFAULT_MESSAGES = 20_000
# About the size of a typical gzip-decoded Python SDK error event.
DEFAULT_BODY_BYTES = 3_500
# fsync per commit is slow; fewer puts keep that run short but still stable.
FULL_SYNC_MESSAGES = 2_000


def _rate(count: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def bench_queue(label: str, queue: Queue, messages: int, body: bytes) -> None:
    """Print put rates (1 and 100 bodies per call) and the read+ack rate."""

    def put_singly() -> None:
        for _ in range(messages):
            queue.put_many([body])

    def put_batched() -> None:
        batch = [body] * 100
        for _ in range(messages // 100):
            queue.put_many(batch)

    def drain() -> None:
        while batch := queue.read("bench", READ_BATCH):
            queue.ack([message.id for message in batch])

    singly = _rate(messages, put_singly)
    batched = _rate(messages // 100 * 100, put_batched)
    backlog = queue.backlog().size
    drained = _rate(backlog, drain)
    assert queue.backlog().size == 0, "the drain loop empties the queue"
    print(
        f"{label:<22} put x1 {singly:>9,.0f}/s   put x100 {batched:>9,.0f}/s   "
        f"read{READ_BATCH}+ack {drained:>9,.0f}/s"
    )


def main() -> None:
    """Run every backend that is reachable and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--body-bytes", type=int, default=DEFAULT_BODY_BYTES)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--dir", help="directory for SQLite files (default: temp)")
    args = parser.parse_args()
    body = b"x" * args.body_bytes
    print(f"{args.messages:,} messages of {args.body_bytes:,} bytes")

    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        for synchronous, messages in (
            ("normal", args.messages),
            ("full", min(args.messages, FULL_SYNC_MESSAGES)),
        ):
            path = Path(directory) / f"queue-{synchronous}.sqlite3"
            queue = open_queue(f"sqlite://{path}?synchronous={synchronous}")
            bench_queue(f"sqlite sync={synchronous}", queue, messages, body)
            queue.close()

    name = f"bench-{uuid.uuid4().hex[:12]}"
    queue = open_queue(args.redis_url, name)
    try:
        bench_queue("redis streams", queue, args.messages, body)
    except QueueUnavailable as exc:
        print(f"redis streams          skipped: {exc}")
    finally:
        import redis

        redis.Redis.from_url(args.redis_url).delete(f"fixtrail:queue:{name}")
        queue.close()


if __name__ == "__main__":
    main()
