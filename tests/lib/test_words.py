from __future__ import annotations

import pytest

from fixtrail.lib.words import words


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("rate_limited", "rate limited"),
        ("invalid-payload", "invalid payload"),
        ("accepted", "accepted"),
        ("__x__", "x"),
        ("", ""),
    ],
)
def test_it_turns_identifiers_into_words(identifier, expected):
    assert words(identifier) == expected
