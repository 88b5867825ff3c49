from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fixtrail.ingest.ratelimits import (
    Limit,
    applicable_limits,
    minute_window,
    month_window,
    rate_limit_headers,
)

# 2024-05-31 23:59:15.5 UTC: late in a minute and at the end of a month.
NOW = datetime(2024, 5, 31, 23, 59, 15, 500000, tzinfo=UTC).timestamp()


def test_it_counts_the_seconds_left_in_the_minute():
    window, left = minute_window(NOW)
    assert window == f"m{int(NOW // 60)}"
    assert left == 45


def test_it_never_answers_zero_seconds_left():
    assert minute_window(60.0 * 1000 - 0.001)[1] == 1


def test_it_counts_the_seconds_left_in_the_month():
    assert month_window(NOW) == ("mo2024-05", 45)


def test_it_rolls_december_into_january():
    december = datetime(2023, 12, 31, 0, 0, tzinfo=UTC).timestamp()
    assert month_window(december) == ("mo2023-12", 24 * 3600)


def test_it_leaves_out_limits_set_to_zero():
    limits = applicable_limits(
        now=NOW,
        key_id=3,
        project_id=1,
        key_per_minute=0,
        project_per_minute=0,
        project_per_month=0,
        instance_per_minute=0,
        instance_per_month=0,
    )
    assert limits == []


def test_it_lists_every_limit_narrowest_first():
    minute = f"m{int(NOW // 60)}"
    limits = applicable_limits(
        now=NOW,
        key_id=3,
        project_id=1,
        key_per_minute=10,
        project_per_minute=20,
        project_per_month=30,
        instance_per_minute=40,
        instance_per_month=50,
    )
    month_ttl = 45 + 32 * 24 * 3600
    assert limits == [
        Limit(f"k3:{minute}", 10, 120, 45, "key", "key_rate_limit"),
        Limit(f"p1:{minute}", 20, 120, 45, "project", "project_rate_limit"),
        Limit("p1:mo2024-05", 30, month_ttl, 45, "project", "project_quota"),
        Limit(f"i:{minute}", 40, 120, 45, "organization", "instance_rate_limit"),
        Limit("i:mo2024-05", 50, month_ttl, 45, "organization", "instance_quota"),
    ]


@pytest.mark.parametrize(
    ("retry_after", "scope", "reason", "expected"),
    [
        (
            37,
            "project",
            "project_rate_limit",
            "37:error;default;security;attachment:project:project_rate_limit",
        ),
        (
            2700,
            "organization",
            "instance_quota",
            "2700:error;default;security;attachment:organization:instance_quota",
        ),
    ],
)
def test_it_formats_sentry_rate_limit_headers(retry_after, scope, reason, expected):
    assert rate_limit_headers(retry_after, scope, reason) == [
        ("Retry-After", str(retry_after)),
        ("X-Sentry-Rate-Limits", expected),
    ]
