"""Cursor parsing and the Link header, byte for byte as Sentry's."""

from __future__ import annotations

import re

import pytest

from fixtrail.api.errors import BadRequest
from fixtrail.api.pagination import Cursor, link_header, parse_cursor, parse_per_page

# GitLab's own pattern (lib/error_tracking/sentry_client/pagination_parser.rb),
# applied to each comma-separated part of the header.
GITLAB_PATTERN = re.compile(
    r'rel="(?P<direction>\w+)";\sresults="(?P<results>\w+)";\scursor="(?P<cursor>.+)"'
)
LIST = "https://errors.example.com/api/0/projects/acme/backend/issues/"
BASE = LIST + "?"


def test_it_writes_the_first_page_header_like_sentry():
    assert link_header(BASE, 0, 100, True) == (
        f'<{LIST}?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{LIST}?&cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"'
    )


def test_it_writes_a_middle_page_header_with_other_parameters():
    base = BASE + "query=is%3Aunresolved&limit=25"
    query = "?query=is%3Aunresolved&limit=25"
    assert link_header(base, 50, 25, True) == (
        f'<{LIST}{query}&cursor=0:25:1>; rel="previous"; results="true"; '
        'cursor="0:25:1", '
        f'<{LIST}{query}&cursor=0:75:0>; rel="next"; results="true"; '
        'cursor="0:75:0"'
    )


def test_it_says_there_is_no_next_page_on_the_last_one():
    header = link_header(BASE, 100, 100, False)
    assert header.endswith('rel="next"; results="false"; cursor="0:200:0"')


def test_it_parses_with_gitlabs_regular_expression():
    header = link_header(BASE, 100, 100, True)
    parsed = {}
    for part in header.split(","):
        match = GITLAB_PATTERN.search(part)
        if match and match["results"] == "true":
            parsed[match["direction"]] = match["cursor"]
    assert parsed == {"previous": "0:0:1", "next": "0:200:0"}


@pytest.mark.parametrize(
    ("text", "cursor"),
    [
        ("", None),
        ("0:100:0", Cursor(0, 100, False)),
        ("0:0:1", Cursor(0, 0, True)),
        ("1420837533:5:0", Cursor(1420837533, 5, False)),
    ],
)
def test_it_parses_cursors(text, cursor):
    assert parse_cursor(text) == cursor


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "0:100",
        "0:100:0:0",
        "0:-1:0",
        "0:100:2",
        "0:1000001:0",
        "x:1:0",
        "0:" + "9" * 70 + ":0",
    ],
)
def test_it_refuses_malformed_cursors(text):
    with pytest.raises(BadRequest, match="^Invalid cursor parameter.$"):
        parse_cursor(text)


@pytest.mark.parametrize(
    ("text", "size"), [(None, 100), ("", 100), ("1", 1), ("100", 100)]
)
def test_it_reads_the_page_size(text, size):
    assert parse_per_page(text) == size


@pytest.mark.parametrize("text", ["0", "101", "-5", "ten"])
def test_it_refuses_page_sizes_out_of_range(text):
    with pytest.raises(BadRequest, match="^Invalid per_page value"):
        parse_per_page(text)
