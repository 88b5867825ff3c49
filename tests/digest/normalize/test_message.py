"""Messages and log entries, and their templates."""

from __future__ import annotations

import pytest

from fixtrail.digest.normalize.limits import (
    MAX_MESSAGE_CHARS,
)
from fixtrail.digest.normalize.message import format_template
from tests.digest.normalize.helpers import (
    normalize,
)


def test_it_accepts_message_as_a_string():
    event = normalize({"message": "hello world"})

    assert event.data["logentry"] == {"formatted": "hello world"}
    assert event.message == "hello world"
    assert event.title == "hello world"


def test_it_accepts_message_as_an_object():
    event = normalize({"message": {"message": "hi %s", "params": ["bob"]}})

    assert event.data["logentry"] == {
        "formatted": "hi bob",
        "message": "hi %s",
        "params": ["bob"],
    }


def test_it_accepts_logentry_as_a_string():
    event = normalize({"logentry": "plain"})

    assert event.data["logentry"] == {"formatted": "plain"}


def test_it_keeps_the_sdks_formatted_message():
    event = normalize(
        {"logentry": {"message": "hi %s", "params": ["bob"], "formatted": "hi Bob!"}}
    )

    assert event.message == "hi Bob!"
    assert event.data["logentry"]["message"] == "hi %s"


def test_it_takes_the_formatted_text_from_message_when_logentry_has_only_a_template():
    event = normalize({"logentry": {"message": "hi %s"}, "message": "hi bob"})

    assert event.data["logentry"] == {"formatted": "hi bob", "message": "hi %s"}


def test_it_converts_a_message_that_is_not_text():
    event = normalize({"message": {"message": {"a": 1}}})

    assert event.message == '{"a":1}'
    assert event.notes == ["message.message: expected a string, got object; converted"]


def test_it_shortens_long_messages():
    event = normalize({"message": "x" * (MAX_MESSAGE_CHARS + 10)})

    assert len(event.message) == MAX_MESSAGE_CHARS
    assert event.message.endswith("…")
    assert event.notes == [
        f"logentry.formatted: shortened to {MAX_MESSAGE_CHARS} characters"
    ]


@pytest.mark.parametrize(
    ("template", "params", "expected"),
    [
        ("hi %s", ["bob"], "hi bob"),
        ("%s + %d = %i", ["a", 1, 2], "a + 1 = 2"),
        ("%(one)s and %(two)s", {"one": 1, "two": "b"}, "1 and b"),
        ("%r", ["x"], "'x'"),
        ("100%% of %s", ["them"], "100% of them"),
        ("%-10s|%05.2f", ["a", 1.5], "a|1.5"),
        ("%999999999s", ["pad"], "pad"),
        ("%s %s", ["only one"], "only one %s"),
        ("%(missing)s", {"other": 1}, "%(missing)s"),
        ("{} and {}", ["a", "b"], "a and b"),
        ("{1} then {0}", ["a", "b"], "b then a"),
        ("{name}!", {"name": "bob"}, "bob!"),
        ("{0:>10} {{literal}}", ["x"], "x {literal}"),
        ("{9}", ["x"], "{9}"),
        ("value %s", [None], "value None"),
        ("value %s", [{"k": [1]}], 'value {"k":[1]}'),
        ("no placeholders", ["x"], "no placeholders"),
        ("hi %s", "bob", "hi bob"),
        ("hi %s", None, "hi %s"),
    ],
)
def test_it_formats_templates_safely(template, params, expected):
    assert format_template(template, params) == expected
