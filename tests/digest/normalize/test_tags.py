"""Tags in every shape the SDKs send, bounded."""

from __future__ import annotations

import pytest

from fixtrail.digest.normalize.limits import (
    MAX_TAG_VALUE_CHARS,
)
from tests.digest.normalize.helpers import (
    normalize,
)


@pytest.mark.parametrize(
    "tags",
    [
        {"a": "1", "b": 2, "c": True},
        [["a", "1"], ["b", 2], ["c", True]],
        [{"key": "a", "value": "1"}, ["b", 2.0], ("c", True)],
    ],
)
def test_it_accepts_tags_as_object_or_pairs(tags):
    event = normalize({"tags": tags})

    assert event.data["tags"] == [["a", "1"], ["b", "2"], ["c", "true"]]


def test_it_drops_tags_with_overlong_keys_and_shortens_long_values():
    event = normalize(
        {"tags": {"k" * 33: "v", "ok": "v" * 300, "none": None, "obj": {}}}
    )

    assert event.data["tags"] == [["ok", "v" * (MAX_TAG_VALUE_CHARS - 1) + "…"]]
    assert event.notes == [
        "tags: dropped 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': key over 32 characters",
        "tags.ok: shortened to 200 characters",
        "tags.obj: value is not text; dropped",
    ]


def test_it_keeps_the_last_value_of_a_repeated_tag():
    assert normalize({"tags": [["a", "1"], ["a", "2"]]}).data["tags"] == [["a", "2"]]


def test_it_puts_newlines_in_tag_values_on_one_line():
    assert normalize({"tags": {"a": "x\ny"}}).data["tags"] == [["a", "x y"]]
