"""The parsed-artifact cache stays within its bound."""

from __future__ import annotations

import pytest

from fixtrail.symbols.cache import MEMORY_FACTOR, ParsedCache


def test_it_evicts_the_least_recently_used_beyond_its_bound():
    cache = ParsedCache(max_bytes=100 * MEMORY_FACTOR)
    cache.get("sourcemap", "a", 60, lambda: "A")
    cache.get("sourcemap", "b", 30, lambda: "B")
    cache.get("sourcemap", "a", 60, lambda: "not loaded again")
    cache.get("sourcemap", "c", 30, lambda: "C")
    assert cache.stats() == {
        "entries": 2,
        "charged_bytes": 90 * MEMORY_FACTOR,
        "max_bytes": 100 * MEMORY_FACTOR,
        "hits": 1,
        "misses": 3,
    }
    # "b" was the least recently used, so it went.
    assert cache.get("sourcemap", "b", 30, lambda: "B again") == "B again"


def test_it_caches_nothing_when_loading_fails():
    cache = ParsedCache()

    def fail():
        raise FileNotFoundError("gone")

    for _ in range(2):
        with pytest.raises(FileNotFoundError, match="gone"):
            cache.get("sourcemap", "a", 10, fail)
    assert cache.stats()["entries"] == 0
    assert cache.loads["sourcemap"] == 2
