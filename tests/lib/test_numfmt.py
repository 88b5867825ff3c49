from __future__ import annotations

import pytest

from fixtrail.lib.numfmt import compact


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.2k"),
        (9949, "9.9k"),
        (9999, "10k"),
        (15_300, "15k"),
        (999_499, "999k"),
        (999_999, "1M"),
        (1_500_000, "1.5M"),
        (2_000_000_000, "2B"),
        (-1234, "-1.2k"),
    ],
)
def test_it_shortens_numbers(number, text):
    assert compact(number) == text
