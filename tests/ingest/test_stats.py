from __future__ import annotations

import orjson

from fixtrail.ingest.items import decode_item
from fixtrail.ingest.stats import StatsAccumulator

NOW = 1714557600.0


def _payload(batch) -> dict:
    header, payload = decode_item(batch.body)
    assert header == {"type": "stats", "received_at": NOW + 10}
    return orjson.loads(payload)


def test_it_adds_up_counts_per_key():
    stats = StatsAccumulator()
    stats.add_outcome(1, "error", "accepted", now=NOW)
    stats.add_outcome(1, "error", "accepted", 2, now=NOW + 1)
    stats.add_outcome(2, "error", "rate_limited", reason="key_rate_limit", now=NOW)
    stats.add_session(1, "app@1", "prod", "crashed", 3, now=NOW)
    payload = _payload(stats.take(NOW + 10))
    assert payload == {
        "interval_start": NOW,
        "interval_end": NOW + 10,
        "outcomes": [
            {"project_id": 1, "category": "error", "outcome": "accepted",
             "reason": None, "quantity": 3},
            {"project_id": 2, "category": "error", "outcome": "rate_limited",
             "reason": "key_rate_limit", "quantity": 1},
        ],
        "sessions": [
            {"project_id": 1, "release": "app@1", "environment": "prod",
             "status": "crashed", "quantity": 3},
        ],
    }  # fmt: skip


def test_it_is_empty_after_a_take():
    stats = StatsAccumulator()
    stats.add_outcome(1, "error", "accepted", now=NOW)
    stats.take(NOW + 10)
    assert stats.take(NOW + 20) is None


def test_it_is_due_only_after_the_interval():
    stats = StatsAccumulator(flush_interval_seconds=5)
    assert stats.is_due(NOW) is False
    stats.add_outcome(1, "error", "accepted", now=NOW)
    assert stats.take_due(NOW + 4.9) is None
    assert stats.take_due(NOW + 5) is not None


def test_it_restores_a_batch_that_could_not_be_queued():
    stats = StatsAccumulator()
    stats.add_outcome(1, "error", "accepted", now=NOW)
    batch = stats.take(NOW + 10)
    stats.add_outcome(1, "error", "accepted", now=NOW + 11)
    stats.restore(batch)
    payload = _payload(stats.take(NOW + 10))
    assert payload["interval_start"] == NOW
    assert [row["quantity"] for row in payload["outcomes"]] == [2]


def test_it_folds_counts_past_the_key_limit_into_an_overflow_key():
    stats = StatsAccumulator(max_keys=2)
    for reason in ("a", "b", "c", "d"):
        stats.add_outcome(1, "error", "client_discarded", reason=reason, now=NOW)
    stats.add_session(1, "r1", None, "exited", now=NOW)
    stats.add_session(1, "r2", None, "exited", now=NOW)
    stats.add_session(1, "r3", None, "exited", now=NOW)
    payload = _payload(stats.take(NOW + 10))
    assert [
        (row["project_id"], row["reason"], row["quantity"])
        for row in payload["outcomes"]
    ] == [
        (1, "a", 1),
        (1, "b", 1),
        (0, "overflow", 2),
    ]
    assert [(row["release"], row["quantity"]) for row in payload["sessions"]] == [
        ("r1", 1),
        ("r2", 1),
        ("overflow", 1),
    ]
