from __future__ import annotations

import pytest

from fixtrail.lib.globs import glob_match, glob_to_regex


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("ConnectionError", "ConnectionError", True),
        ("ConnectionError", "connectionerror", True),
        ("ConnectionError", "ConnectionErrors", False),
        ("*timeout*", "Read timeout after 30s", True),
        ("*timeout*", "Read time-out", False),
        ("app@1.*", "app@1.4.2", True),
        ("app@1.*", "app@10.0", False),
        ("*", "", True),
        ("**/node_modules/**", "/srv/app/node_modules/x/index.js", True),
        ("foo.?", "foo.a", True),
        ("foo.?", "foo.ab", False),
        ("v[0-9]", "v7", True),
        ("v[0-9]", "vx", False),
        ("v[!0-9]", "vx", True),
        ("v[^0-9]", "v7", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("[unclosed", "[unclosed", True),
        ("a.b", "axb", False),
        ("line*", "line one\nline two", True),
    ],
)
def test_it_matches_whole_text(pattern, text, expected):
    assert glob_match(pattern, text) is expected


def test_it_treats_an_invalid_range_literally():
    assert glob_match("[z-a]", "[z-a]") is True
    assert glob_match("[z-a]", "q") is False


def test_it_collapses_runs_of_stars():
    assert glob_to_regex("a**b") == "a.*b"
