"""Identifiers as words, for pages that show stored codes to people.

words("rate_limited")          -> "rate limited"
words("invalid-payload")       -> "invalid payload"
words("release-version")       -> "release version"
"""

from __future__ import annotations


def words(identifier: str) -> str:
    """Return ``identifier`` with its _ and - separators as spaces."""
    return " ".join(identifier.replace("_", " ").replace("-", " ").split())
