"""Paging through Sentry's Link header."""

from __future__ import annotations

import pytest

from fixtrail.adoption.sentry_api import next_page

BASE = "https://sentry.example.com/api/0/organizations/acme/projects/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            f'<{BASE}?cursor=0:0:1>; rel="previous"; results="false"; '
            f'cursor="0:0:1", <{BASE}?cursor=0:100:0>; rel="next"; '
            f'results="true"; cursor="0:100:0"',
            f"{BASE}?cursor=0:100:0",
        ),
        (
            f'<{BASE}?cursor=0:0:1>; rel="previous"; results="true"; '
            f'cursor="0:0:1", <{BASE}?cursor=0:200:0>; rel="next"; '
            f'results="false"; cursor="0:200:0"',
            None,
        ),
        ("", None),
        ("garbage", None),
    ],
)
def test_it_finds_the_next_page(header, expected):
    assert next_page(header) == expected
