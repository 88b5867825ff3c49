"""How frame URLs meet uploaded artifact URLs (``~/`` matching)."""

from __future__ import annotations

import pytest

from fixtrail.symbols.symbolicate import resolve_url, url_candidates


def test_it_matches_a_url_by_its_path_under_tilde():
    assert url_candidates("https://shop.example.com/static/js/app.js?v=3#x") == [
        "https://shop.example.com/static/js/app.js",
        "~/static/js/app.js",
        "~/js/app.js",
        "~/app.js",
    ]


def test_it_matches_a_node_file_path_by_its_tail():
    assert url_candidates("/srv/shop/dist/app.js")[:3] == [
        "/srv/shop/dist/app.js",
        "~/srv/shop/dist/app.js",
        "~/shop/dist/app.js",
    ]


@pytest.mark.parametrize(
    ("base", "relative", "expected"),
    [
        ("~/static/app.js", "app.js.map", "~/static/app.js.map"),
        ("~/static/app.js.map", "../src/index.ts", "~/src/index.ts"),
        (
            "https://cdn.example.com/a/app.js",
            "app.js.map",
            "https://cdn.example.com/a/app.js.map",
        ),
        ("~/app.js", "webpack://shop/src/x.ts", "webpack://shop/src/x.ts"),
    ],
)
def test_it_resolves_relative_names_against_the_artifact_url(base, relative, expected):
    assert resolve_url(base, relative) == expected
