"""The per-token request limit of the web API: a fixed one-minute window.

Counters live in ingest's counter store (fixtrail.ingest.counters): a SQLite
file under ``FIXTRAIL_DATA_DIR`` by default, Redis when ``QUEUE_URL`` is a
Redis URL, so every web process of an installation shares one count per
token. A request over the limit is answered 429 with ``Retry-After``.
"""

from __future__ import annotations

import time

from django.conf import settings

from fixtrail.ingest.counters import consume_or_allow
from fixtrail.ingest.ratelimits import MINUTE_SECONDS, Limit, minute_window

# Requests per token per minute when FIXTRAIL_API_RATE_LIMIT_PER_MINUTE is
# unset. Twenty a second keeps a script paging through every issue of a big
# project busy for minutes, not hours, while one runaway loop cannot flood
# the database. Sentry's own per-user web limits are of the same order.
DEFAULT_API_RATE_LIMIT_PER_MINUTE = 1200


def api_rate_limit_per_minute() -> int:
    """Return the configured per-token limit; 0 means no limit."""
    return getattr(
        settings, "API_RATE_LIMIT_PER_MINUTE", DEFAULT_API_RATE_LIMIT_PER_MINUTE
    )


def token_limit(token_id: int, limit: int, now: float) -> Limit:
    """Return the counter of ``token_id`` for the minute around ``now``."""
    window, left = minute_window(now)
    return Limit(
        counter=f"api:t{token_id}:{window}",
        limit=limit,
        # Kept one window longer, as ingest's counters are, so a process whose
        # clock lags a little still finds the counter.
        ttl_seconds=2 * MINUTE_SECONDS,
        retry_after=left,
        scope="token",
        reason="api_rate_limit",
    )


def consume_token_request(token_id: int, now: float | None = None) -> int | None:
    """Count one request of ``token_id``.

    Returns None when the request may go on, else the whole seconds until the
    window ends (for ``Retry-After``). The count is not increased for a
    refused request.
    """
    limit = api_rate_limit_per_minute()
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    refused = consume_or_allow([token_limit(token_id, limit, now)], 1, now)
    return refused.retry_after if refused else None
