"""The pure lifecycle decisions: release order, regressions, ignore ends."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.issues.lifecycle import (
    IN_COMMIT,
    IN_RELEASE,
    NEXT_RELEASE,
    NOW,
    IgnoreConditions,
    Resolution,
    Version,
    compare_releases,
    ignore_condition_met,
    ignore_end_reason,
    is_regression,
    is_settled,
    parse_version,
)

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BEFORE = T0 - dt.timedelta(hours=1)
AFTER = T0 + dt.timedelta(hours=1)


def test_it_parses_a_package_version_with_prerelease_and_build():
    assert parse_version("backend@1.2.3-rc.1+45") == Version(
        "backend", (1, 2, 3), ((1, "rc"), (0, 1))
    )


@pytest.mark.parametrize(
    "release", ["", "3f9c2a1b", "nightly", "1.2.3.4.5", "release-1.2", "1.2 beta"]
)
def test_it_does_not_parse_what_is_not_a_version(release):
    assert parse_version(release) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.10.0", "1.9.2", 1),
        ("app@1.9.2", "app@1.10.0", -1),
        ("v2.0", "2.0.0", None),  # same version: no order, and none seen
        ("2.0.0-rc.1", "2.0.0", -1),
        ("2.0.0-alpha", "2.0.0-beta", -1),
        ("2.0.0-rc.2", "2.0.0-rc.10", -1),
        ("1.0", "1.0", 0),
    ],
)
def test_it_compares_versions(a, b, expected):
    assert compare_releases(a, b, {}) == expected


def test_it_compares_other_releases_by_first_seen():
    first_seen = {"abc123": BEFORE, "def456": AFTER}

    assert compare_releases("def456", "abc123", first_seen) == 1
    assert compare_releases("abc123", "def456", first_seen) == -1


def test_it_compares_versions_of_different_packages_by_first_seen():
    first_seen = {"web@9.0": BEFORE, "api@1.0": AFTER}

    assert compare_releases("api@1.0", "web@9.0", first_seen) == 1


def test_it_cannot_compare_a_release_it_never_saw():
    assert compare_releases("abc123", "def456", {"abc123": BEFORE}) is None


def test_it_reopens_a_resolved_now_issue_on_any_later_event():
    resolution = Resolution(NOW, T0)

    assert (
        is_regression(
            resolution,
            event_release="",
            event_received_at=AFTER,
            release_first_seen={},
        )
        is True
    )


def test_it_does_not_reopen_for_an_event_received_before_the_resolution():
    resolution = Resolution(NOW, T0)

    assert (
        is_regression(
            resolution,
            event_release="",
            event_received_at=BEFORE,
            release_first_seen={},
        )
        is False
    )


@pytest.mark.parametrize(
    ("event_release", "expected"),
    [("1.4.0", True), ("1.5.1", True), ("1.3.9", False), ("", False)],
)
def test_it_reopens_an_in_release_issue_only_from_that_release_on(
    event_release, expected
):
    resolution = Resolution(IN_RELEASE, T0, "1.4.0")

    assert (
        is_regression(
            resolution,
            event_release=event_release,
            event_received_at=AFTER,
            release_first_seen={},
        )
        is expected
    )


def test_it_orders_unversioned_releases_by_first_seen_for_in_release():
    resolution = Resolution(IN_RELEASE, T0, "fix-sha")
    first_seen = {"old-sha": BEFORE - dt.timedelta(days=1), "fix-sha": BEFORE}

    older = is_regression(
        resolution,
        event_release="old-sha",
        event_received_at=AFTER,
        release_first_seen=first_seen,
    )
    newer = is_regression(
        resolution,
        event_release="new-sha",
        event_received_at=AFTER,
        release_first_seen={**first_seen, "new-sha": AFTER},
    )

    assert (older, newer) == (False, True)


@pytest.mark.parametrize("how", [NEXT_RELEASE, IN_COMMIT])
def test_it_reopens_a_next_release_issue_only_for_releases_first_seen_after(how):
    resolution = Resolution(how, T0)
    first_seen = {"1.0": BEFORE, "1.1": AFTER}

    results = [
        is_regression(
            resolution,
            event_release=release,
            event_received_at=AFTER,
            release_first_seen=first_seen,
        )
        for release in ("1.0", "1.1", "")
    ]

    assert results == [False, True, False]


def test_it_never_ends_an_ignore_forever():
    conditions = IgnoreConditions()

    assert conditions.is_forever is True
    assert (
        ignore_condition_met(conditions, now=AFTER, times_seen=10**9, user_count=10**6)
        is False
    )


def test_it_ends_an_ignore_when_its_time_has_passed():
    conditions = IgnoreConditions(until=T0)

    assert (
        ignore_condition_met(conditions, now=BEFORE, times_seen=1, user_count=0)
        is False
    )
    assert ignore_condition_met(conditions, now=T0, times_seen=1, user_count=0) is True


def test_it_ends_an_ignore_after_n_more_events():
    conditions = IgnoreConditions(count=10, base_count=100)

    assert (
        ignore_condition_met(conditions, now=T0, times_seen=109, user_count=0) is False
    )
    assert (
        ignore_condition_met(conditions, now=T0, times_seen=110, user_count=0) is True
    )


def test_it_counts_only_events_in_the_window_when_there_is_one():
    conditions = IgnoreConditions(count=10, window_minutes=60, base_count=0)

    assert (
        ignore_condition_met(
            conditions, now=T0, times_seen=500, user_count=0, count_in_window=9
        )
        is False
    )
    assert (
        ignore_condition_met(
            conditions, now=T0, times_seen=500, user_count=0, count_in_window=10
        )
        is True
    )


def test_it_ends_an_ignore_after_n_more_users():
    conditions = IgnoreConditions(user_count=3, base_users=5)

    assert ignore_condition_met(conditions, now=T0, times_seen=1, user_count=7) is False
    assert ignore_condition_met(conditions, now=T0, times_seen=1, user_count=8) is True


def test_it_counts_only_new_users_in_the_user_window():
    conditions = IgnoreConditions(user_count=3, user_window_minutes=30, base_users=0)

    assert (
        ignore_condition_met(
            conditions, now=T0, times_seen=1, user_count=50, users_in_window=2
        )
        is False
    )
    assert (
        ignore_condition_met(
            conditions, now=T0, times_seen=1, user_count=50, users_in_window=3
        )
        is True
    )


def test_it_settles_new_issues_after_a_week():
    assert is_settled(T0, T0 + dt.timedelta(days=6, hours=23)) is False
    assert is_settled(T0, T0 + dt.timedelta(days=7)) is True


def test_it_says_which_condition_ended_an_ignore():
    conditions = IgnoreConditions(until=T0, count=5, user_count=2)

    reasons = [
        ignore_end_reason(conditions, now=T0, times_seen=0, user_count=0),
        ignore_end_reason(conditions, now=BEFORE, times_seen=5, user_count=0),
        ignore_end_reason(conditions, now=BEFORE, times_seen=0, user_count=2),
        ignore_end_reason(conditions, now=BEFORE, times_seen=4, user_count=1),
    ]

    assert reasons == ["until", "count", "users", None]
