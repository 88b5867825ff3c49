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
