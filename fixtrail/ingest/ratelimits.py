"""Rate limits and quotas: which counters apply, their windows, and the
headers that tell an SDK to back off.

Limits count events (errors, messages, CSP reports), the items digest has to
store; sessions, transactions and the rest are only counted in stats. Each
limit is a fixed window: a calendar minute for ``*_per_minute`` settings, a
calendar month (UTC) for quotas. A request is refused when any applicable
counter would pass its limit, and then no counter is incremented, so refused
events never eat into another scope's quota.

The answer follows Sentry's rate-limiting protocol: HTTP 429 with an integer
``Retry-After`` and ``X-Sentry-Rate-Limits``, a comma-separated list of
``retry_after:categories:scope:reason_code``, for example::

    Retry-After: 37
    X-Sentry-Rate-Limits: 37:error;default;security;attachment:key:key_rate_limit

Protocol reference, pinned:
https://github.com/getsentry/sentry-docs/blob/c6d0a87a79b457d24947a50e90d8c98040755a51/develop-docs/sdk/expected-features/rate-limiting.mdx

Everything here is pure and takes ``now`` (epoch seconds) as an argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

# The data categories an SDK should stop sending while an event limit holds:
# errors and messages ("default"), CSP reports ("security"), and attachments,
# which are worthless without their event.
LIMITED_CATEGORIES = ("error", "default", "security", "attachment")

MINUTE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Limit:
    """One counter that applies to a request.

    ``counter`` names the counter and its current window (it changes when
    the window does, so old counters are simply never read again),
    ``ttl_seconds`` is how long the counter must be kept, ``retry_after`` the
    whole seconds until the window ends, ``scope`` the scope reported to the
    SDK and ``reason`` the reason code.
    """

    counter: str
    limit: int
    ttl_seconds: int
    retry_after: int
    scope: str
    reason: str


def minute_window(now: float) -> tuple[str, int]:
    """Return the current minute window's id and the whole seconds left in it."""
    index = int(now // MINUTE_SECONDS)
    left = (index + 1) * MINUTE_SECONDS - now
    return f"m{index}", max(1, math.ceil(left))


def month_window(now: float) -> tuple[str, int]:
    """Return the current UTC calendar month's id (``mo2024-05``) and the whole
    seconds left in it."""
    moment = datetime.fromtimestamp(now, UTC)
    if moment.month == 12:
        following = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    else:
        following = datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
    left = following.timestamp() - now
    return f"mo{moment.year:04d}-{moment.month:02d}", max(1, math.ceil(left))


def applicable_limits(
    *,
    now: float,
    key_id: int,
    project_id: int,
    key_per_minute: int,
    project_per_minute: int,
    project_per_month: int,
    instance_per_minute: int,
    instance_per_month: int,
) -> list[Limit]:
    """Return the limits that apply to one event, narrowest scope first.

    A limit of 0 means "none" and is left out, so a request under no limits
    gets an empty list and never touches the counter store.
    """
    if not (
        key_per_minute
        or project_per_minute
        or project_per_month
        or instance_per_minute
        or instance_per_month
    ):
        return []
    minute, minute_left = minute_window(now)
    month, month_left = month_window(now)
    # Counters outlive their window by one more window so a clock that is a
    # little behind another process's still finds them.
    minute_ttl = 2 * MINUTE_SECONDS
    month_ttl = month_left + 32 * 24 * 3600
    candidates = [
        (key_per_minute, f"k{key_id}:{minute}", minute_ttl, minute_left, "key",
         "key_rate_limit"),
        (project_per_minute, f"p{project_id}:{minute}", minute_ttl, minute_left,
         "project", "project_rate_limit"),
        (project_per_month, f"p{project_id}:{month}", month_ttl, month_left,
         "project", "project_quota"),
        (instance_per_minute, f"i:{minute}", minute_ttl, minute_left,
         "organization", "instance_rate_limit"),
        (instance_per_month, f"i:{month}", month_ttl, month_left,
         "organization", "instance_quota"),
    ]  # fmt: skip
    return [
        Limit(counter, limit, ttl, left, scope, reason)
        for limit, counter, ttl, left, scope, reason in candidates
        if limit > 0
    ]


def rate_limit_headers(
    retry_after: int, scope: str, reason: str
) -> list[tuple[str, str]]:
    """Return the ``Retry-After`` and ``X-Sentry-Rate-Limits`` headers for a 429."""
    categories = ";".join(LIMITED_CATEGORIES)
    return [
        ("Retry-After", str(retry_after)),
        ("X-Sentry-Rate-Limits", f"{retry_after}:{categories}:{scope}:{reason}"),
    ]
