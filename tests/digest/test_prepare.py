"""The pure part of digest: what each kind of queue item becomes."""

from __future__ import annotations

import orjson
import pytest

from fixtrail.digest.batches import load_configs
from fixtrail.digest.prepare import clean, hour_of, prepare
from tests.digest.queueing import T0, python_error


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        (None, 10, ""),
        ("short", 10, "short"),
        ("a" * 20, 5, "aaaaa"),
        ("nul\x00byte", 20, "nulbyte"),
        (42, 10, "42"),
        ("ünïcode", 3, "ünï"),
    ],
)
def test_it_fits_text_to_a_column(value, limit, expected):
    assert clean(value, limit) == expected


def test_it_rounds_down_to_the_hour():
    assert hour_of(T0.replace(minute=59, second=3)) == T0.replace(minute=0)


def _item(project, kind, payload: bytes, **header):
    return (
        f"m-{kind}",
        {
            "type": kind,
            "project_id": project.pk,
            "event_id": "9" * 32,
            "received_at": T0.timestamp(),
            **header,
        },
        payload,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "payload", "header", "where", "error"),
    [
        ("event", orjson.dumps(python_error()), {}, "events", None),
        ("event", b"{not json", {}, "failed", "JSONDecodeError"),
        ("event", b"[1, 2]", {}, "failed", "object"),
        ("event", b"not zstd", {"encoding": "zstd"}, "failed", "damaged"),
        ("attachment", b"", {"path": "../../etc/passwd"}, "failed", "no valid path"),
        ("attachment", b"", {"path": "1/e/0-gone.log"}, "failed", "missing"),
        ("mystery", b"{}", {}, "failed", "unknown item type"),
    ],
)
def test_it_sorts_each_item_into_what_it_becomes(
    project, kind, payload, header, where, error
):
    prepared = prepare(
        [_item(project, kind, payload, **header)], load_configs([project.pk])
    )
    assert len(getattr(prepared, where)) == 1
    if error is not None:
        assert error in prepared.failed[0].error
        assert prepared.failed[0].project_id == project.pk


@pytest.mark.django_db
def test_it_drops_items_of_a_project_that_is_gone(project):
    item = _item(project, "event", orjson.dumps(python_error()))
    prepared = prepare([item], configs={})
    assert (prepared.events, prepared.failed) == ([], [])


def _stats(project, outcome: str, quantity: int) -> bytes:
    row = {"project_id": project.pk, "category": "error", "reason": "", "quantity": 0}
    return orjson.dumps(
        {
            "interval_start": T0.timestamp(),
            "outcomes": [row | {"outcome": outcome, "quantity": quantity}],
            "sessions": [{"project_id": project.pk, "status": "ok", "quantity": 2}],
        }
    )


@pytest.mark.django_db
def test_two_halves_extended_make_what_one_prepare_makes(project):
    # The worker prepares a batch in two parts (the helper process's and
    # the writer's) and joins them: the result must not tell.
    batch = [
        _item(project, "event", orjson.dumps(python_error()), event_id="1" * 32),
        _item(project, "stats", _stats(project, "rate_limited", 3)),
        _item(project, "event", b"{not json"),
        _item(project, "event", orjson.dumps(python_error(type_="KeyError"))),
        _item(project, "stats", _stats(project, "rate_limited", 4)),
        _item(project, "stats", _stats(project, "too_large", 1)),
    ]
    configs = load_configs([project.pk])

    whole = prepare(batch, configs)
    for cut in range(len(batch) + 1):
        joined = prepare(batch[:cut], configs)
        joined.extend(prepare(batch[cut:], configs))

        assert joined == whole
    assert [e.type for e in whole.events] == ["ValueError", "KeyError"]
    assert sorted(whole.outcomes.values()) == [1, 7]
    assert list(whole.sessions.values()) == [6]
    assert len(whole.failed) == 1
