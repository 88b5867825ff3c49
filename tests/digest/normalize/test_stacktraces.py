"""Exceptions, chains, stack traces and frames, and their bounds."""

from __future__ import annotations

import orjson
import pytest

from fixtrail.digest.normalize.limits import (
    FRAME_VARS_MAX_DEPTH,
    FRAME_VARS_MAX_ITEMS,
    MAX_EXCEPTIONS,
    MAX_FRAMES_PER_STACKTRACE,
    TRIMMED,
)
from tests.digest.normalize.helpers import (
    make_exception,
    make_frame,
    normalize,
)


def test_it_accepts_exception_as_a_list():
    event = normalize({"exception": [make_exception()]})

    assert event.data["exception"]["values"][0]["type"] == "ZeroDivisionError"


def test_it_accepts_exception_as_values():
    event = normalize({"exception": {"values": [make_exception()]}})

    assert event.type == "ZeroDivisionError"
    assert event.value == "division by zero"
    assert event.title == "ZeroDivisionError: division by zero"


def test_it_accepts_a_single_exception_object():
    event = normalize({"exception": make_exception()})

    assert event.type == "ZeroDivisionError"


def test_it_takes_the_last_exception_of_the_chain_as_the_main_one():
    event = normalize(
        {
            "exception": [
                make_exception(type="KeyError", value="'x'"),
                make_exception(type="RuntimeError", value="wrapped"),
            ]
        }
    )

    assert event.title == "RuntimeError: wrapped"


def test_it_keeps_exception_group_links():
    mechanism = {
        "type": "chained",
        "handled": False,
        "exception_id": 1,
        "parent_id": 0,
        "source": "exceptions[0]",
    }
    root = {"type": "excepthook", "exception_id": 0, "is_exception_group": True}
    event = normalize(
        {
            "exception": [
                make_exception(type="ValueError", mechanism=mechanism),
                make_exception(type="ExceptionGroup", value="boom", mechanism=root),
            ]
        }
    )

    values = event.data["exception"]["values"]
    assert values[0]["mechanism"] == mechanism
    assert values[1]["mechanism"] == root
    assert event.handled is None


@pytest.mark.parametrize(
    "stacktrace",
    [None, {"frames": None}, {"frames": []}, {}, {"frames": [None, 3]}],
)
def test_it_drops_empty_stack_traces(stacktrace):
    event = normalize({"exception": [make_exception(stacktrace=stacktrace)]})

    assert "stacktrace" not in event.data["exception"]["values"][0]
    assert event.title == "ZeroDivisionError: division by zero"


def test_it_notes_frames_that_are_not_objects():
    event = normalize(
        {"exception": [make_exception(stacktrace={"frames": [None, make_frame()]})]}
    )

    assert len(event.data["exception"]["values"][0]["stacktrace"]["frames"]) == 1
    assert event.notes == [
        "exception.values.0.stacktrace.frames: dropped 1 frames that were not objects"
    ]


def test_it_drops_exceptions_with_nothing_in_them():
    event = normalize({"exception": [{}, None, make_exception()]})

    assert len(event.data["exception"]["values"]) == 1
    assert event.notes == ["exception.values: dropped 2 empty or malformed exceptions"]


def test_it_checks_frame_field_types():
    frame = {
        "function": "f",
        "lineno": "12",
        "colno": "x",
        "in_app": "true",
        "module": 7,
        "vars": ["not", "an", "object"],
        "unknown": 1,
        "pre_context": ["a", None, 3],
    }
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    assert event.data["exception"]["values"][0]["stacktrace"]["frames"] == [
        {
            "function": "f",
            "lineno": 12,
            "in_app": True,
            "module": "7",
            "pre_context": ["a", "", "3"],
        }
    ]


def test_it_keeps_the_first_and_last_frames_of_an_overlong_stack_trace():
    frames = [
        make_frame(function=f"f{i}") for i in range(MAX_FRAMES_PER_STACKTRACE + 50)
    ]
    event = normalize({"exception": [make_exception(stacktrace={"frames": frames})]})

    stacktrace = event.data["exception"]["values"][0]["stacktrace"]
    half = MAX_FRAMES_PER_STACKTRACE // 2
    assert len(stacktrace["frames"]) == MAX_FRAMES_PER_STACKTRACE
    assert stacktrace["frames"][half - 1]["function"] == f"f{half - 1}"
    assert stacktrace["frames"][half]["function"] == f"f{half + 50}"
    assert stacktrace["frames_omitted"] == [half, half + 50]
    assert event.notes == [
        f"exception.values.0.stacktrace.frames: kept the first and last {half} of "
        f"{MAX_FRAMES_PER_STACKTRACE + 50} frames"
    ]


def test_it_keeps_the_newest_exceptions_of_an_overlong_chain():
    chain = [make_exception(type=f"E{i}") for i in range(MAX_EXCEPTIONS + 5)]
    event = normalize({"exception": chain})

    values = event.data["exception"]["values"]
    assert len(values) == MAX_EXCEPTIONS
    assert values[0]["type"] == "E5"
    assert event.type == f"E{MAX_EXCEPTIONS + 4}"
    assert event.notes == [
        f"exception.values: kept the last {MAX_EXCEPTIONS} of {MAX_EXCEPTIONS + 5}"
    ]


def test_it_bounds_frame_variables():
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    wide = {f"k{i}": i for i in range(FRAME_VARS_MAX_ITEMS + 3)}
    frame = make_frame(vars={"deep": deep, "wide": wide, "long": "y" * 2000})
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    variables = event.data["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]
    # depth 0 is vars itself, so "deep" is cut FRAME_VARS_MAX_DEPTH levels down.
    assert variables["deep"] == {"a": {"b": {"c": {"d": TRIMMED}}}}
    assert FRAME_VARS_MAX_DEPTH == 5
    assert len(variables["wide"]) == FRAME_VARS_MAX_ITEMS
    assert len(variables["long"]) == 1024
    assert event.notes == [
        "exception.values.0.stacktrace.frames: trimmed (1 long strings shortened, "
        "3 items over 50 dropped, 1 values nested deeper than 5 cut)"
    ]


def test_it_turns_huge_integers_into_text():
    event = normalize({"extra": {"big": 2**70, "nan": float("nan")}})

    assert event.data["extra"] == {"big": str(2**70), "nan": None}
    assert orjson.loads(orjson.dumps(event.data))["extra"]["big"] == str(2**70)


def test_it_accepts_top_level_stacktrace_and_threads():
    event = normalize(
        {
            "message": "hi",
            "stacktrace": {"frames": [make_frame()]},
            "threads": {
                "values": [
                    {
                        "id": 1,
                        "crashed": True,
                        "stacktrace": {"frames": [make_frame()]},
                    },
                    "junk",
                ]
            },
        }
    )

    assert event.data["stacktrace"]["frames"][0]["function"] == "price"
    assert event.data["threads"]["values"][0]["id"] == "1"
    assert event.data["threads"]["values"][0]["crashed"] is True
