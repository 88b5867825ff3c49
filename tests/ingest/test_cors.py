from __future__ import annotations

import pytest

from fixtrail.ingest.cors import origin_allowed, preflight_headers


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"),
    [
        ("https://shop.example", (), True),
        ("https://shop.example", ("*",), True),
        ("https://shop.example", ("https://shop.example",), True),
        ("https://shop.example", ("HTTPS://Shop.Example/",), True),
        ("http://shop.example", ("https://shop.example",), False),
        ("https://shop.example:8443", ("https://shop.example",), False),
        ("http://localhost:3000", ("localhost",), True),
        ("https://a.cdn.example", ("*.cdn.example",), True),
        ("https://cdn.example", ("*.cdn.example",), False),
        ("https://evilcdn.example", ("*.cdn.example",), False),
        ("https://evil.example", ("https://shop.example", "localhost"), False),
        ("null", ("https://shop.example",), False),
        ("http://[::1", ("localhost",), False),
    ],
)
def test_it_matches_origins(origin, allowed, expected):
    assert origin_allowed(origin, allowed) is expected


def test_it_echoes_requested_headers_in_a_preflight():
    headers = dict(preflight_headers("https://a.example", "x-custom, content-type"))
    assert headers["Access-Control-Allow-Headers"] == "x-custom, content-type"
    assert headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_it_lists_the_sdk_headers_when_none_are_requested():
    headers = dict(preflight_headers(None, None))
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Headers"] == (
        "x-sentry-auth, x-requested-with, origin, accept, content-type, "
        "content-encoding, authorization, sentry-trace, baggage"
    )
