"""DSN key lookups for the hot path, cached briefly in process memory.

Every SDK request names a public key. Looking it up in the database each
time would put one query on every request, so the answer (including "no
such key") is kept in a per-process dict for KEY_CACHE_SECONDS. The price is
that disabling a key or changing a limit takes up to that long to reach
every ingest process; :func:`forget_keys` clears this process's cache.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

# Short enough that a disabled key stops working within half a minute, long
# enough that a busy key costs one query per process every 30 s.
KEY_CACHE_SECONDS = 30.0

# Unknown keys are remembered for less time, so a key created a moment after
# a failed attempt starts working quickly.
MISSING_KEY_CACHE_SECONDS = 5.0

# One entry is a few hundred bytes; 10,000 keys bound the cache to a few MB
# even when a client sprays random keys at the endpoint.
MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ingest needs to know about a DSN key and its project."""

    key_id: int
    project_id: int
    is_active: bool
    key_rate_limit_per_minute: int
    project_rate_limit_per_minute: int
    project_quota_per_month: int
    allowed_origins: tuple[str, ...]
    # The project id the key had on the server it was imported from, when
    # that id was taken here (fixtrail.adoption.models.ImportedKey).
    source_project_id: int | None = None
    # The project also sends what it accepts to another server
    # (fixtrail.adoption.forwarding).
    forwards: bool = False

    def serves(self, project_id: int) -> bool:
        """Return whether a DSN naming ``project_id`` may use this key."""
        return project_id in (self.project_id, self.source_project_id)


_cache: dict[str, tuple[float, KeyInfo | None]] = {}
_cache_lock = threading.Lock()


def lookup_key(public_key: str, now: float | None = None) -> KeyInfo | None:
    """Return the key named ``public_key``, or None when there is none.

    Runs one database query on a cache miss (at most once per key every
    KEY_CACHE_SECONDS per process).
    """
    now = time.monotonic() if now is None else now
    cached = _cache.get(public_key)
    if cached is not None and cached[0] > now:
        return cached[1]
    info = _load_key(public_key)
    ttl = KEY_CACHE_SECONDS if info is not None else MISSING_KEY_CACHE_SECONDS
    with _cache_lock:
        if len(_cache) >= MAX_CACHED_KEYS:
            # Dropping everything is crude but O(1) amortized, and only a
            # flood of distinct keys ever gets here.
            _cache.clear()
        _cache[public_key] = (now + ttl, info)
    return info


def forget_keys() -> None:
    """Empty this process's key cache, so the next lookups hit the database."""
    with _cache_lock:
        _cache.clear()


def _load_key(public_key: str) -> KeyInfo | None:
    from fixtrail.projects.models import ProjectKey

    row = (
        ProjectKey.objects.filter(public_key=public_key)
        .values_list(
            "id",
            "project_id",
            "is_active",
            "rate_limit_per_minute",
            "project__rate_limit_per_minute",
            "project__quota_per_month",
            "project__allowed_origins",
            "imported__source_project_id",
            "project__forwarding__is_active",
        )
        .first()
    )
    if row is None:
        return None
    key_id, project_id, is_active, key_limit, project_limit, quota, origins = row[:7]
    return KeyInfo(
        key_id=key_id,
        project_id=project_id,
        is_active=is_active,
        key_rate_limit_per_minute=key_limit,
        project_rate_limit_per_minute=project_limit,
        project_quota_per_month=quota,
        allowed_origins=tuple(
            line.strip() for line in origins.splitlines() if line.strip()
        ),
        source_project_id=row[7],
        forwards=row[8] is True,
    )
