"""Per-thread zstd compressors and decompressor.

zstandard's (de)compressor objects are not safe to share between threads
(web servers run several), and making one per call costs more than
compressing a small event; so each thread keeps its own, one compressor
per level.
"""

from __future__ import annotations

import threading

import zstandard

_local = threading.local()


def compressor(level: int) -> zstandard.ZstdCompressor:
    """Return this thread's compressor for ``level``."""
    found = getattr(_local, "compressors", None)
    if found is None:
        found = _local.compressors = {}
    made = found.get(level)
    if made is None:
        made = found[level] = zstandard.ZstdCompressor(level=level)
    return made


def decompressor() -> zstandard.ZstdDecompressor:
    """Return this thread's decompressor."""
    made = getattr(_local, "decompressor", None)
    if made is None:
        made = _local.decompressor = zstandard.ZstdDecompressor()
    return made
