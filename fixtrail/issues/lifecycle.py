"""Pure decisions of the issue lifecycle: regressions, ignore conditions,
and the ordering of releases they rely on.

Nothing here touches the database or the clock; callers (digest, the
periodic jobs) fetch the numbers and pass ``now`` in. The states::

    unresolved ──resolve──▶ resolved ──new event the resolution covers──▶
        unresolved/regressed
    unresolved ──ignore──▶ ignored ──condition met──▶ unresolved/escalating

Which events a resolution covers:

- ``now``: any event received after the resolution;
- ``in_release X``: events from X or a later release. Two releases compare
  as versions when both parse (``app@1.10.0`` > ``app@1.9.2``), else by
  when the project first saw each one;
- ``next_release``: events from a release the project first saw after the
  resolution. Events without a release are not covered, since nothing says
  they come from a newer build;
- ``in_commit``: without a mapping from commits to releases, the same as
  ``next_release``: the first release after the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

NOW = "now"
NEXT_RELEASE = "next_release"
IN_RELEASE = "in_release"
IN_COMMIT = "in_commit"
RESOLUTION_KINDS = (NOW, NEXT_RELEASE, IN_RELEASE, IN_COMMIT)

# Sentry's convention: an issue stays "new" for a week, then is "ongoing".
NEW_ISSUE_DAYS = 7

# Longest release string worth parsing as a version; Issue.first_release and
# TagValue cap stored releases at 250 characters anyway.
MAX_VERSION_LENGTH = 250

# "package@version+build", where package and build are optional and version
# is one to four dot-separated numbers, an optional leading "v" and an
# optional pre-release tag after "-".
_VERSION = re.compile(
    r"""
    ^(?:(?P<package>[^@]+)@)?
    v?(?P<numbers>\d+(?:\.\d+){0,3})
    (?:-(?P<pre>[0-9A-Za-z.-]+))?
    (?:\+(?P<build>[0-9A-Za-z.-]+))?$
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed release version, ordered like semantic versions."""

    package: str
    numbers: tuple[int, ...]
    # Pre-release identifiers; empty for a final release, which sorts after
    # all of its pre-releases.
    pre: tuple[tuple[int, int | str], ...]

    def sort_key(self) -> tuple:
        """Return a key that orders versions of one package."""
        padded = self.numbers + (0,) * (4 - len(self.numbers))
        return (padded, not self.pre, self.pre)


def parse_version(release: str) -> Version | None:
    """Return the version in a release string, or None when it has none.

    ``"backend@1.2.3-rc.1+45"`` gives package "backend", numbers (1, 2, 3)
    and a pre-release; a commit hash or a date-less name gives None.
    """
    if not release or len(release) > MAX_VERSION_LENGTH:
        return None
    match = _VERSION.match(release)
    if match is None:
        return None
    numbers = tuple(int(part) for part in match.group("numbers").split("."))
    pre_text = match.group("pre")
    pre: tuple[tuple[int, int | str], ...] = ()
    if pre_text:
        # Numeric identifiers sort before alphanumeric ones (semver 11.4.3).
        pre = tuple(
            (0, int(part)) if part.isdigit() else (1, part)
            for part in pre_text.split(".")
        )
    return Version(match.group("package") or "", numbers, pre)


def compare_releases(
    a: str, b: str, first_seen: Mapping[str, dt.datetime]
) -> int | None:
    """Return -1, 0 or 1 as release ``a`` is older than, the same as or newer
    than ``b``; None when nothing tells.

    Versions of the same package compare as versions. Otherwise the release
    the project saw first is the older; ``first_seen`` maps releases to when
    the project first saw them, and a release missing from it is unknown.
    """
    if a == b:
        return 0
    version_a, version_b = parse_version(a), parse_version(b)
    if (
        version_a is not None
        and version_b is not None
        and version_a.package == version_b.package
    ):
        key_a, key_b = version_a.sort_key(), version_b.sort_key()
        if key_a != key_b:
            return -1 if key_a < key_b else 1
    seen_a, seen_b = first_seen.get(a), first_seen.get(b)
    if seen_a is None or seen_b is None or seen_a == seen_b:
        return None
    return -1 if seen_a < seen_b else 1


@dataclass(frozen=True, slots=True)
class Resolution:
    """How and when an issue was resolved."""

    how: str
    resolved_at: dt.datetime
    # The release named by an in_release resolution; "" otherwise.
    release: str = ""


def is_regression(
    resolution: Resolution,
    *,
    event_release: str,
    event_received_at: dt.datetime,
    release_first_seen: Mapping[str, dt.datetime],
) -> bool:
    """Return True when an event reopens an issue resolved as ``resolution``.

    ``release_first_seen`` maps releases to when the project first saw them
    (including releases first seen in the event's own batch). An event the
    server received before the resolution never reopens it: it was only
    waiting in the queue.
    """
    if event_received_at <= resolution.resolved_at:
        return False
    if resolution.how == NOW:
        return True
    if not event_release:
        return False
    if resolution.how == IN_RELEASE:
        order = compare_releases(event_release, resolution.release, release_first_seen)
        return order is not None and order >= 0
    # next_release and in_commit: a release first seen after the resolution.
    first_seen = release_first_seen.get(event_release)
    return first_seen is not None and first_seen > resolution.resolved_at


@dataclass(frozen=True, slots=True)
class IgnoreConditions:
    """When an ignored issue comes back; all None means "forever"."""

    until: dt.datetime | None = None
    count: int | None = None
    window_minutes: int | None = None
    user_count: int | None = None
    user_window_minutes: int | None = None
    # Issue.times_seen and Issue.user_count when the issue was ignored.
    base_count: int = 0
    base_users: int = 0

    @property
    def is_forever(self) -> bool:
        """True when no condition can end the ignore."""
        return self.until is None and self.count is None and self.user_count is None


def ignore_end_reason(
    conditions: IgnoreConditions,
    *,
    now: dt.datetime,
    times_seen: int,
    user_count: int,
    count_in_window: int | None = None,
    users_in_window: int | None = None,
) -> str | None:
    """Return why an ignored issue should come back as escalating ("until",
    "count" or "users"), or None while it stays ignored.

    ``times_seen`` and ``user_count`` are the issue's totals now. When the
    count (or user) condition has a window, ``count_in_window`` (or
    ``users_in_window``) must be the events (or new users) within that many
    minutes before ``now`` and after the issue was ignored; a missing
    figure counts as zero.
    """
    if conditions.until is not None and now >= conditions.until:
        return "until"
    if conditions.count is not None:
        if conditions.window_minutes:
            seen = count_in_window or 0
        else:
            seen = times_seen - conditions.base_count
        if seen >= conditions.count:
            return "count"
    if conditions.user_count is not None:
        if conditions.user_window_minutes:
            users = users_in_window or 0
        else:
            users = user_count - conditions.base_users
        if users >= conditions.user_count:
            return "users"
    return None


def ignore_condition_met(
    conditions: IgnoreConditions,
    *,
    now: dt.datetime,
    times_seen: int,
    user_count: int,
    count_in_window: int | None = None,
    users_in_window: int | None = None,
) -> bool:
    """Return True when an ignored issue should come back (see
    ignore_end_reason for the arguments)."""
    return (
        ignore_end_reason(
            conditions,
            now=now,
            times_seen=times_seen,
            user_count=user_count,
            count_in_window=count_in_window,
            users_in_window=users_in_window,
        )
        is not None
    )


def is_settled(first_seen: dt.datetime, now: dt.datetime) -> bool:
    """Return True when a "new" issue has been around long enough to be
    "ongoing" (NEW_ISSUE_DAYS)."""
    return now - first_seen >= dt.timedelta(days=NEW_ISSUE_DAYS)
