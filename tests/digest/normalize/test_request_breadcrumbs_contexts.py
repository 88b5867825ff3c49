"""Requests, breadcrumbs, contexts, fingerprints and notes."""

from __future__ import annotations

import pytest

from fixtrail.digest.normalize.limits import (
    MAX_BREADCRUMBS,
)
from tests.digest.normalize.helpers import (
    normalize,
)


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "text/html", "X-Multi": ["a", "b"]},
        [["Accept", "text/html"], ["X-Multi", "a"], ["X-Multi", "b"]],
    ],
)
def test_it_accepts_headers_as_object_or_pairs(headers):
    event = normalize({"request": {"headers": headers}})

    assert event.data["request"]["headers"] == [
        ["Accept", "text/html"],
        ["X-Multi", "a"],
        ["X-Multi", "b"],
    ]


def test_it_turns_non_text_header_values_into_text():
    event = normalize({"request": {"headers": {"User-Agent": 5}}})

    assert event.data["request"]["headers"] == [["User-Agent", "5"]]


def test_it_moves_the_query_out_of_the_url():
    event = normalize(
        {"request": {"url": "https://x.example/a?b=1&c=#frag", "method": "get"}}
    )

    assert event.data["request"] == {
        "url": "https://x.example/a",
        "method": "GET",
        "query_string": [["b", "1"], ["c", ""]],
        "fragment": "frag",
    }


@pytest.mark.parametrize(
    "query",
    ["a=1&b=2", "?a=1&b=2", {"a": "1", "b": 2}, [["a", "1"], ["b", "2"]]],
)
def test_it_accepts_the_query_string_in_any_shape(query):
    event = normalize({"request": {"query_string": query}})

    assert event.data["request"]["query_string"] == [["a", "1"], ["b", "2"]]


def test_it_keeps_the_newest_breadcrumbs():
    crumbs = [{"message": f"m{i}", "timestamp": i} for i in range(MAX_BREADCRUMBS + 20)]
    event = normalize({"breadcrumbs": crumbs})

    values = event.data["breadcrumbs"]["values"]
    assert len(values) == MAX_BREADCRUMBS
    assert values[0] == {"message": "m20", "timestamp": 20}
    assert event.notes == [
        f"breadcrumbs.values: kept the last {MAX_BREADCRUMBS} of {MAX_BREADCRUMBS + 20}"
    ]


def test_it_accepts_breadcrumbs_as_values():
    event = normalize(
        {
            "breadcrumbs": {
                "values": [
                    {
                        "timestamp": "2025-01-02T03:03:20Z",
                        "category": "query",
                        "message": "SELECT 1",
                        "data": {"rows": 1},
                        "junk": 1,
                    },
                    "junk",
                ]
            }
        }
    )

    assert event.data["breadcrumbs"]["values"] == [
        {
            "timestamp": "2025-01-02T03:03:20Z",
            "category": "query",
            "message": "SELECT 1",
            "data": {"rows": 1},
        }
    ]


def test_it_drops_contexts_that_are_not_objects():
    event = normalize({"contexts": {"os": {"name": "Linux"}, "none": None, "bad": 3}})

    assert event.data["contexts"] == {"os": {"name": "Linux"}}
    assert event.notes == ["contexts.bad: expected an object, got number; dropped"]


@pytest.mark.parametrize(
    ("fingerprint", "expected"),
    [
        (["a", 1, 2.5, True, None], ["a", "1", "2.5", "true"]),
        ("solo", ["solo"]),
        ([], None),
    ],
)
def test_it_cleans_the_fingerprint(fingerprint, expected):
    assert normalize({"fingerprint": fingerprint}).data.get("fingerprint") == expected


def test_it_records_notes_in_the_data():
    event = normalize({"platform": "crystal"})

    assert event.data["_notes"] == event.notes
