"""Compact numbers for dense tables: 950 -> "950", 1234 -> "1.2k",
1_500_000 -> "1.5M". The exact number goes in a title attribute."""

from __future__ import annotations

_STEPS = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k"))


def compact(number: int) -> str:
    """Return ``number`` with at most one decimal and a k/M/B suffix."""
    for size, suffix in _STEPS:
        # 999,999 is "1M", not "1000k": compare with what rounds up to size.
        if abs(number) >= size * 0.9995:
            value = number / size
            text = f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(number)
