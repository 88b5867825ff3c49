"""The corpus of real SDK events and arbitrary JSON: never an unexpected error."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtrail.digest.normalize import InvalidEvent, NormalizeOptions
from tests.conftest import CORPUS_FILES
from tests.digest.normalize.helpers import (
    RECEIVED_AT,
    make_exception,
    make_frame,
    normalize,
)


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
@pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_it_normalizes_every_corpus_event(path):
    event = normalize(orjson.loads(path.read_bytes()))

    # The result must be storable as it is.
    assert orjson.loads(orjson.dumps(event.data)) == event.data
    assert event.title != ""
    assert event.platform in {
        "python",
        "javascript",
        "node",
        "java",
        "csharp",
        "go",
        "php",
        "cocoa",
        "native",
        "other",
    }


def test_it_normalizes_the_already_normalized_form_to_itself():
    if not CORPUS_FILES:
        pytest.skip("../shared/corpus/sdk-events is not present")
    for path in CORPUS_FILES:
        first = normalize(orjson.loads(path.read_bytes()))
        data = dict(first.data)
        data.pop("_notes", None)
        data.pop("received")
        second = normalize(data)
        second.data.pop("_notes", None)
        assert second.data == {**data, "received": RECEIVED_AT}, path.name
        assert (second.title, second.culprit) == (first.title, first.culprit), path.name


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)
EVENT_KEYS = st.sampled_from(
    [
        "event_id",
        "timestamp",
        "platform",
        "level",
        "logger",
        "transaction",
        "server_name",
        "release",
        "dist",
        "environment",
        "message",
        "logentry",
        "exception",
        "stacktrace",
        "threads",
        "breadcrumbs",
        "tags",
        "user",
        "request",
        "contexts",
        "extra",
        "modules",
        "sdk",
        "fingerprint",
        "debug_meta",
        "culprit",
    ]
)
# Values that look a little like real fields, so the fuzzing reaches deeper code.
SHAPED = st.recursive(
    JSON,
    lambda children: st.fixed_dictionaries(
        {},
        optional={
            "values": st.lists(children, max_size=3),
            "frames": st.lists(children, max_size=3),
            "stacktrace": children,
            "type": children,
            "value": children,
            "mechanism": children,
            "headers": children,
            "vars": children,
            "params": children,
            "message": children,
            "in_app": children,
            "url": children,
            "id": children,
        },
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(EVENT_KEYS, SHAPED, max_size=6))
def test_it_never_raises_on_event_shaped_json(data):
    event = normalize(data, options=NormalizeOptions(scrub_ip_addresses=True))

    orjson.dumps(event.data)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_it_raises_only_invalid_event_on_any_json_value(value):
    if isinstance(value, dict):
        orjson.dumps(normalize(value).data)
    else:
        with pytest.raises(InvalidEvent):
            normalize(value)


def _mutate(value, choices, path=()):
    """Yield copies of ``value`` with one nested value replaced by each choice."""
    if isinstance(value, dict):
        for key in list(value)[:12]:
            for choice in choices:
                yield {**value, key: choice}
            for changed in _mutate(value[key], choices[:2], (*path, key)):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for index in range(min(len(value), 3)):
            for changed in _mutate(value[index], choices[:2], (*path, index)):
                yield [*value[:index], changed, *value[index + 1 :]]


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(CORPUS_FILES or [Path("none")]),
    st.data(),
)
def test_it_never_raises_on_mutated_corpus_events(path, data):
    event = orjson.loads(path.read_bytes())
    choices = [None, "x", 7, [], {}, [None], {"values": None}, 2**70, -1.5]
    mutants = list(_mutate(event, choices))
    mutant = data.draw(st.sampled_from(mutants)) if mutants else event

    orjson.dumps(normalize(mutant).data)


@pytest.mark.parametrize(
    ("lineno", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("-3", -3),
        ("0\x1f", 0),
        ("²", None),
        ("1e3", None),
        (1e30, None),
    ],
)
def test_it_reads_line_numbers_leniently(lineno, expected):
    frame = make_frame(lineno=lineno)
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    assert (
        event.data["exception"]["values"][0]["stacktrace"]["frames"][0].get("lineno")
        == expected
    )
