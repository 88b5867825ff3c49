"""A bounded cache of parsed source maps, minified sources and ProGuard
mappings, keyed by the stored file's sha1.

Parsing a 1 MB source map costs tens of milliseconds; a batch of events
from one bundle must pay that once. The cache lives in the process that
runs digest's pure step (the forked helper) and survives across batches.
Memory is bounded by charging each entry its file size times
MEMORY_FACTOR (symbolic's parsed form is a little larger than the JSON it
came from) and evicting the least recently used entries beyond
MAX_CACHE_BYTES.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

# Default bound of the charged size of everything cached: a few dozen
# large bundles' maps, far below a worker's memory.
MAX_CACHE_BYTES = 256 * 1024 * 1024
# Parsed source maps (token tables plus sources) measured about twice the
# size of their JSON here; charged at 3x to stay on the safe side.
MEMORY_FACTOR = 3


class ParsedCache:
    """LRU of parsed artifacts, bounded by charged bytes."""

    def __init__(self, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.charged = 0
        self.hits = 0
        self.misses = 0
        # Loads per kind ("sourcemap", "minified", "proguard", ...).
        self.loads: Counter[str] = Counter()
        self._entries: OrderedDict[tuple[str, str], tuple[Any, int]] = OrderedDict()

    def get(self, kind: str, checksum: str, size: int, load: Callable[[], Any]) -> Any:
        """Return the cached value for (kind, checksum), loading it with
        ``load()`` on a miss. Exceptions from ``load`` propagate and nothing
        is cached for them."""
        key = (kind, checksum)
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry[0]
        self.misses += 1
        self.loads[kind] += 1
        value = load()
        cost = max(size, 1) * MEMORY_FACTOR
        self._entries[key] = (value, cost)
        self.charged += cost
        while self.charged > self.max_bytes and len(self._entries) > 1:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.charged -= evicted
        return value

    def stats(self) -> dict[str, int]:
        """Return entries, charged bytes, the bound, hits and misses."""
        return {
            "entries": len(self._entries),
            "charged_bytes": self.charged,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }

    def clear(self) -> None:
        """Forget everything (tests, and a bound change)."""
        self._entries.clear()
        self.charged = 0
        self.hits = self.misses = 0
        self.loads.clear()


# One per process: digest's helper keeps it warm across batches.
parsed = ParsedCache()
