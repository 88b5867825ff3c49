"""The event's top level: what it must be, ids, platform, level, short fields."""

from __future__ import annotations

import copy

import pytest

from fixtrail.digest.normalize import InvalidEvent
from tests.digest.normalize.helpers import (
    EVENT_ID,
    RECEIVED_AT,
    make_exception,
    normalize,
)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ([], "array"),
        ("event", "string"),
        (3, "number"),
        (None, "null"),
        (True, "boolean"),
    ],
)
def test_it_rejects_a_top_level_that_is_not_an_object(data, kind):
    with pytest.raises(
        InvalidEvent, match=f"^an event must be a JSON object, not {kind}$"
    ):
        normalize(data)


def test_it_normalizes_an_empty_object_to_the_minimal_form():
    event = normalize({})

    assert event.data == {
        "event_id": "",
        "platform": "other",
        "timestamp": RECEIVED_AT,
        "received": RECEIVED_AT,
        "level": "error",
    }
    assert event.title == "<unlabeled event>"
    assert event.culprit == ""
    assert event.notes == []


def test_it_does_not_modify_its_input():
    data = {
        "exception": [make_exception()],
        "tags": [["a", 1]],
        "request": {"url": "http://x/?a=1", "headers": {"Cookie": "a=b"}},
        "extra": {"password": "x", "card": "4111 1111 1111 1111"},
    }
    before = copy.deepcopy(data)

    normalize(data)

    assert data == before


def test_it_prefers_the_callers_event_id():
    event = normalize({"event_id": "0" * 32}, event_id=EVENT_ID)

    assert event.event_id == EVENT_ID


def test_it_accepts_an_event_id_with_dashes():
    event = normalize({"event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC"})

    assert event.event_id == EVENT_ID


def test_it_drops_an_invalid_event_id_with_a_note():
    event = normalize({"event_id": "nope"})

    assert event.event_id == ""
    assert event.notes == ["event_id: not 32 hexadecimal characters; dropped"]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("python", "python"),
        ("JavaScript", "javascript"),
        ("crystal", "other"),
        (None, "other"),
    ],
)
def test_it_maps_unknown_platforms_to_other(platform, expected):
    assert normalize({"platform": platform}).platform == expected


def test_it_notes_an_unknown_platform():
    assert normalize({"platform": "crystal"}).notes == [
        "platform: unknown platform 'crystal'; used 'other'"
    ]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("error", "error"),
        ("WARN", "warning"),
        ("critical", "fatal"),
        ("log", "info"),
        ("trace", "debug"),
        (40, "error"),
        (30, "warning"),
        (5, "debug"),
        ("bogus", "error"),
        (None, "error"),
    ],
)
def test_it_normalizes_levels(level, expected):
    assert normalize({"level": level}).level == expected


def test_it_drops_unknown_top_level_fields_with_a_note():
    event = normalize({"zzz": 1, "aaa": 2, "_meta": {}, "errors": []})

    assert "zzz" not in event.data
    assert event.notes == ["dropped unknown fields: aaa, zzz"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("release", " app@1.0 ", "app@1.0"),
        ("release", 42, "42"),
        ("environment", "production", "production"),
        ("server_name", "web-3", "web-3"),
        ("transaction", "/checkout", "/checkout"),
        ("logger", "shop.orders", "shop.orders"),
    ],
)
def test_it_keeps_short_text_fields(name, value, expected):
    event = normalize({name: value})

    assert event.data[name] == expected
    assert getattr(event, name) == expected


def test_it_drops_a_short_field_of_the_wrong_type_with_a_note():
    event = normalize({"release": {"v": 1}})

    assert "release" not in event.data
    assert event.release is None
    assert event.notes == ["release: expected a string, got object; dropped"]
