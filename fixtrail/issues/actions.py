"""Issue workflows: resolve, unresolve, ignore, assign, merge, delete and the
small per-user marks. The UI, the API and the commands all call these, so
every state change happens here and records an Activity with its author.

Each workflow runs in one transaction and locks the issues it changes
(``SELECT ... FOR UPDATE`` on PostgreSQL, in id order, as digest does), so a
digest batch touching the same issues waits or goes first, never between.
Illegal requests raise IssueActionError with a message meant for people.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from fixtrail.accounts.models import Membership, Team, User
from fixtrail.core.upserts import upsert_add
from fixtrail.events.models import Event, EventKey
from fixtrail.issues import lifecycle
from fixtrail.issues.models import (
    Activity,
    HourlyCount,
    InboxReason,
    Issue,
    IssueHash,
    IssueUser,
    Priority,
    Status,
    Substatus,
    TagValue,
)

logger = logging.getLogger(__name__)

# Comments are for people; a page of text is plenty and bounds the row.
MAX_COMMENT_LENGTH = 10_000
# Bounds of the ignore conditions a person can set: a year of minutes and a
# count no issue realistically reaches.
MAX_IGNORE_MINUTES = 525_600
MAX_IGNORE_COUNT = 1_000_000_000

# Fields cleared whenever an issue leaves "resolved".
_NO_RESOLUTION = {
    "resolved_at": None,
    "resolved_in_release": "",
    "resolved_in_next_release": False,
    "resolved_in_commit": "",
}
# Fields cleared whenever an issue leaves "ignored".
_NO_IGNORE = {
    "ignored_at": None,
    "ignore_until": None,
    "ignore_count": None,
    "ignore_window": None,
    "ignore_user_count": None,
    "ignore_user_window": None,
    "ignore_base_count": 0,
    "ignore_base_users": 0,
}

# What a regression changes on an issue (digest applies it in its batch).
REGRESSED_FIELDS = {
    **_NO_RESOLUTION,
    "status": Status.UNRESOLVED,
    "substatus": Substatus.REGRESSED,
    "is_regressed": True,
    # Back into the review inbox. Now(), not a Python time: digest applies
    # these fields with a queryset update, and the clock of the database
    # is the one every writer shares.
    "inbox_reason": InboxReason.REGRESSION,
    "inbox_at": Now(),
}
# What the end of an ignore changes on an issue.
ESCALATED_FIELDS = {
    **_NO_IGNORE,
    "status": Status.UNRESOLVED,
    "substatus": Substatus.ESCALATING,
    "inbox_reason": InboxReason.ESCALATING,
    "inbox_at": Now(),
}


class IssueActionError(Exception):
    """A workflow request that cannot be carried out, with the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _locked(issues: QuerySet[Issue] | Iterable[Issue]) -> list[Issue]:
    """Return fresh, locked copies of ``issues`` in id order.

    Must run inside a transaction. Locking in id order everywhere (digest
    does too) means two transactions never wait on each other in a cycle.
    """
    if isinstance(issues, QuerySet):
        ids = list(issues.values_list("pk", flat=True))
    else:
        ids = [issue.pk for issue in issues]
    return list(Issue.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _record(
    issues: Iterable[Issue], kind: str, user: User | None, now: dt.datetime, data: dict
) -> None:
    issues = list(issues)
    Activity.objects.bulk_create(
        Activity(issue=issue, user=user, kind=kind, data=data, created_at=now)
        for issue in issues
    )
    if user is not None:
        # Any action a person takes on an issue means someone reviewed it.
        _leave_inbox([issue.pk for issue in issues])


def _leave_inbox(ids: list[int]) -> int:
    if not ids:
        return 0
    return (
        Issue.objects.filter(pk__in=ids)
        .exclude(inbox_reason=InboxReason.NONE)
        .update(inbox_reason=InboxReason.NONE)
    )


def _update(issues: list[Issue], fields: dict[str, Any]) -> None:
    Issue.objects.filter(pk__in=[issue.pk for issue in issues]).update(**fields)


def resolve_issues(
    issues: QuerySet[Issue] | Iterable[Issue],
    *,
    user: User | None,
    how: str,
    release: str = "",
    commit: str = "",
    now: dt.datetime,
) -> int:
    """Resolve ``issues``; return how many were resolved.

    ``how`` is "now", "next_release", "in_release" (needs ``release``) or
    "in_commit" (needs ``commit``); see fixtrail.issues.lifecycle for which
    later events each one lets reopen the issue. Resolving clears the
    regression flag and any ignore conditions. Issues already resolved take
    the new resolution.
    """
    if how not in lifecycle.RESOLUTION_KINDS:
        raise IssueActionError(
            f"Unknown resolution {how!r}: use one of "
            f"{', '.join(lifecycle.RESOLUTION_KINDS)}."
        )
    release, commit = release.strip(), commit.strip()
    if how == lifecycle.IN_RELEASE and not release:
        raise IssueActionError("Choose the release that fixes this issue.")
    if how == lifecycle.IN_COMMIT and not commit:
        raise IssueActionError("Give the commit that fixes this issue.")
    if len(release) > 250 or len(commit) > 64:
        raise IssueActionError("That release or commit name is too long.")
    fields = {
        **_NO_IGNORE,
        "status": Status.RESOLVED,
        "substatus": Substatus.NONE,
        "is_regressed": False,
        "resolved_at": now,
        "resolved_in_release": release if how == lifecycle.IN_RELEASE else "",
        "resolved_in_next_release": how == lifecycle.NEXT_RELEASE,
        "resolved_in_commit": commit if how == lifecycle.IN_COMMIT else "",
    }
    data = {"how": how}
    if how == lifecycle.IN_RELEASE:
        data["release"] = release
    if how == lifecycle.IN_COMMIT:
        data["commit"] = commit
    with transaction.atomic():
        locked = _locked(issues)
        _update(locked, fields)
        _record(locked, Activity.Kind.RESOLVED, user, now, data)
    return len(locked)


def unresolve_issues(
    issues: QuerySet[Issue] | Iterable[Issue], *, user: User | None, now: dt.datetime
) -> int:
    """Reopen resolved or ignored ``issues`` as "ongoing"; return how many.

    Issues that are already unresolved are left as they are (no activity).
    """
    with transaction.atomic():
        locked = [i for i in _locked(issues) if i.status != Status.UNRESOLVED]
        _update(
            locked,
            {
                **_NO_RESOLUTION,
                **_NO_IGNORE,
                "status": Status.UNRESOLVED,
                "substatus": Substatus.ONGOING,
            },
        )
        _record(locked, Activity.Kind.UNRESOLVED, user, now, {})
    return len(locked)


def _check_positive(name: str, value: int | None, maximum: int) -> None:
    if value is not None and not 1 <= value <= maximum:
        raise IssueActionError(f"{name} must be between 1 and {maximum}.")


def ignore_issues(
    issues: QuerySet[Issue] | Iterable[Issue],
    *,
    user: User | None,
    now: dt.datetime,
    until: dt.datetime | None = None,
    count: int | None = None,
    window_minutes: int | None = None,
    user_count: int | None = None,
    user_window_minutes: int | None = None,
) -> int:
    """Ignore (mute) ``issues``; return how many.

    With no condition they stay ignored until someone changes them. Else
    they come back as "escalating" when the first condition is met: the
    time ``until`` passes, ``count`` more events arrive (within
    ``window_minutes``, if given), or ``user_count`` more users are
    affected (first seen within ``user_window_minutes``, if given).
    """
    if until is not None and until <= now:
        raise IssueActionError("The end of the ignore period must be in the future.")
    _check_positive("The number of events", count, MAX_IGNORE_COUNT)
    _check_positive("The number of users", user_count, MAX_IGNORE_COUNT)
    _check_positive("The event window", window_minutes, MAX_IGNORE_MINUTES)
    _check_positive("The user window", user_window_minutes, MAX_IGNORE_MINUTES)
    if window_minutes is not None and count is None:
        raise IssueActionError("A window needs a number of events.")
    if user_window_minutes is not None and user_count is None:
        raise IssueActionError("A user window needs a number of users.")
    data: dict[str, Any] = {}
    for name, value in (
        ("until", until.isoformat() if until else None),
        ("count", count),
        ("window_minutes", window_minutes),
        ("user_count", user_count),
        ("user_window_minutes", user_window_minutes),
    ):
        if value is not None:
            data[name] = value
    with transaction.atomic():
        locked = _locked(issues)
        _update(
            locked,
            {
                **_NO_RESOLUTION,
                "status": Status.IGNORED,
                "substatus": Substatus.NONE,
                "ignored_at": now,
                "ignore_until": until,
                "ignore_count": count,
                "ignore_window": window_minutes,
                "ignore_user_count": user_count,
                "ignore_user_window": user_window_minutes,
                # "N more" is measured from the totals at this moment.
                "ignore_base_count": F("times_seen"),
                "ignore_base_users": F("user_count"),
            },
        )
        _record(locked, Activity.Kind.IGNORED, user, now, data)
    return len(locked)


def assign_issues(
    issues: QuerySet[Issue] | Iterable[Issue],
    *,
    user: User | None,
    assignee: User | None = None,
    team: Team | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Assign ``issues`` to a person or a team, or unassign them when both
    are None; return how many changed.

    The person must be a member, and the team a team, of every issue's
    organization (one query per organization involved).
    """
    if assignee is not None and team is not None:
        raise IssueActionError("Assign to a person or a team, not both.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(issues)
        org_ids = set(
            Issue.objects.filter(pk__in=[i.pk for i in locked]).values_list(
                "project__organization_id", flat=True
            )
        )
        for org_id in org_ids:
            if (
                assignee is not None
                and not Membership.objects.filter(
                    user=assignee, organization_id=org_id
                ).exists()
            ):
                raise IssueActionError(
                    f"{assignee.email} is not a member of this organization."
                )
            if team is not None and team.organization_id != org_id:
                raise IssueActionError(
                    f"Team #{team.slug} is not in this organization."
                )
        changed = [
            i
            for i in locked
            if (i.assignee_id, i.assignee_team_id)
            != (getattr(assignee, "pk", None), getattr(team, "pk", None))
        ]
        _update(changed, {"assignee": assignee, "assignee_team": team})
        if assignee is None and team is None:
            _record(changed, Activity.Kind.UNASSIGNED, user, now, {})
        else:
            data = (
                {"assignee": assignee.email, "user_id": assignee.pk}
                if assignee is not None
                else {"team": team.slug, "team_id": team.pk}
            )
            _record(changed, Activity.Kind.ASSIGNED, user, now, data)
    return len(changed)


def merge_issues(
    issues: list[Issue], *, user: User | None, now: dt.datetime | None = None
) -> Issue:
    """Merge ``issues`` (two or more, one project) into one; return it.

    The survivor is the issue with the most events (the oldest on a tie).
    Steps, in one transaction:

    1. the others' grouping hashes and events move to the survivor, so
       their later events land there too;
    2. hourly counts, tag values and affected users are added into the
       survivor's;
    3. the survivor's totals, first/last seen and releases are recomputed
       from all of them; their comments move over;
    4. the others are deleted, and a "merged" activity names them.
    """
    now = now or timezone.now()
    if len({issue.pk for issue in issues}) < 2:
        raise IssueActionError("Choose at least two issues to merge.")
    if len({issue.project_id for issue in issues}) != 1:
        raise IssueActionError("Only issues of the same project can be merged.")
    with transaction.atomic():
        locked = _locked(issues)
        if len(locked) < 2:
            raise IssueActionError("Choose at least two issues to merge.")
        survivor = max(
            locked, key=lambda i: (i.times_seen, -i.first_seen.timestamp(), -i.pk)
        )
        others = [i for i in locked if i.pk != survivor.pk]
        other_ids = [i.pk for i in others]
        IssueHash.objects.filter(issue_id__in=other_ids).update(issue=survivor)
        Event.objects.filter(issue_id__in=other_ids).update(issue=survivor)
        _merge_aggregates(survivor, other_ids)
        everyone = [survivor, *others]
        first = min(everyone, key=lambda i: i.first_seen)
        last = max(everyone, key=lambda i: i.last_seen)
        Issue.objects.filter(pk=survivor.pk).update(
            times_seen=sum(i.times_seen for i in everyone),
            first_seen=first.first_seen,
            last_seen=last.last_seen,
            first_release=first.first_release or survivor.first_release,
            last_release=last.last_release or survivor.last_release,
            user_count=IssueUser.objects.filter(issue=survivor).count(),
        )
        Activity.objects.filter(
            issue_id__in=other_ids, kind=Activity.Kind.COMMENT
        ).update(issue=survivor)
        names = [i.short_id_display for i in sorted(others, key=lambda i: i.short_id)]
        Issue.objects.filter(pk__in=other_ids).delete()
        _record([survivor], Activity.Kind.MERGED, user, now, {"merged": names})
    survivor.refresh_from_db()
    return survivor


def _merge_aggregates(survivor: Issue, other_ids: list[int]) -> None:
    hourly: dict[Any, int] = {}
    for hour, count in HourlyCount.objects.filter(issue_id__in=other_ids).values_list(
        "hour", "count"
    ):
        hourly[hour] = hourly.get(hour, 0) + count
    upsert_add(
        HourlyCount,
        [{"issue": survivor.pk, "hour": h, "count": c} for h, c in hourly.items()],
        key=("issue", "hour"),
        add=("count",),
    )
    tags: dict[tuple[str, str], dict] = {}
    for row in TagValue.objects.filter(issue_id__in=other_ids).values(
        "key", "value", "times_seen", "first_seen", "last_seen"
    ):
        merged = tags.setdefault(
            (row["key"], row["value"]),
            {**row, "issue": survivor.pk, "times_seen": 0},
        )
        merged["times_seen"] += row["times_seen"]
        merged["first_seen"] = min(merged["first_seen"], row["first_seen"])
        merged["last_seen"] = max(merged["last_seen"], row["last_seen"])
    upsert_add(
        TagValue,
        list(tags.values()),
        key=("issue", "key", "value"),
        add=("times_seen",),
        greatest=("last_seen",),
        least=("first_seen",),
    )
    users: dict[str, dict] = {}
    for row in IssueUser.objects.filter(issue_id__in=other_ids).values(
        "identity", "email", "first_seen", "last_seen"
    ):
        merged = users.setdefault(row["identity"], {**row, "issue": survivor.pk})
        merged["first_seen"] = min(merged["first_seen"], row["first_seen"])
        merged["last_seen"] = max(merged["last_seen"], row["last_seen"])
    upsert_add(
        IssueUser,
        list(users.values()),
        key=("issue", "identity"),
        greatest=("last_seen",),
        least=("first_seen",),
    )


def delete_issues(
    issues: QuerySet[Issue] | Iterable[Issue], *, user: User | None
) -> int:
    """Delete ``issues`` with their events and aggregates; return how many.

    Their grouping hashes go too, so a later event of the same kind opens a
    new issue. The deletion is logged (there is no issue left to hold an
    activity).
    """
    with transaction.atomic():
        locked = _locked(issues)
        ids = [issue.pk for issue in locked]
        for project_id in {issue.project_id for issue in locked}:
            # Free the event ids, so the events could be stored again.
            EventKey.objects.filter(
                project_id=project_id,
                event_id__in=Event.objects.filter(
                    project_id=project_id, issue_id__in=ids
                ).values("event_id"),
            ).delete()
        Issue.objects.filter(pk__in=ids).delete()
    for issue in locked:
        logger.info(
            "issue deleted",
            extra={
                "issue_id": issue.pk,
                "project_id": issue.project_id,
                "user_id": getattr(user, "pk", None),
            },
        )
    return len(locked)


def set_priority(
    issue: Issue,
    priority: int | str,
    *,
    user: User | None,
    now: dt.datetime | None = None,
) -> None:
    """Set an issue's priority: a Priority value (25, 50, 75) or its name
    ("low", "medium", "high")."""
    if isinstance(priority, str):
        names = {choice.name.lower(): choice.value for choice in Priority}
        priority = names.get(priority.strip().lower(), priority)
    if priority not in Priority.values:
        raise IssueActionError(
            f"Unknown priority {priority!r}: use low, medium or high "
            f"({', '.join(str(p) for p in Priority.values)})."
        )
    with transaction.atomic():
        (locked,) = _locked([issue])
        if locked.priority == priority:
            return
        _update([locked], {"priority": priority})
        _record(
            [locked],
            Activity.Kind.PRIORITY,
            user,
            now or timezone.now(),
            {"from": locked.priority, "to": priority},
        )
    issue.priority = priority


def add_comment(
    issue: Issue, *, user: User | None, text: str, now: dt.datetime | None = None
) -> Activity:
    """Add a comment to an issue's activity log and return it."""
    text = text.strip()
    if not text:
        raise IssueActionError("A comment cannot be empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise IssueActionError(
            f"A comment can be at most {MAX_COMMENT_LENGTH} characters long."
        )
    comment = Activity.objects.create(
        issue=issue,
        user=user,
        kind=Activity.Kind.COMMENT,
        data={"text": text},
        created_at=now or timezone.now(),
    )
    if user is not None:
        _leave_inbox([issue.pk])
    return comment


def set_bookmark(issue: Issue, user: User, on: bool) -> None:
    """Bookmark the issue for ``user``, or remove the bookmark."""
    if on:
        issue.bookmarked_by.add(user)
    else:
        issue.bookmarked_by.remove(user)
    _leave_inbox([issue.pk])


def mark_seen(issue: Issue, user: User) -> None:
    """Record that ``user`` has looked at the issue; opening an issue also
    takes it out of the review inbox."""
    issue.seen_by.add(user)
    if issue.inbox_reason:
        _leave_inbox([issue.pk])
        issue.inbox_reason = InboxReason.NONE


def mark_reviewed(
    issues: QuerySet[Issue] | Iterable[Issue],
    *,
    user: User | None,
    now: dt.datetime,
) -> int:
    """Take ``issues`` out of the review inbox; return how many were in it.

    Issues already reviewed are left alone (no activity). A later
    regression or escalation puts an issue back.
    """
    with transaction.atomic():
        waiting = [i for i in _locked(issues) if i.inbox_reason]
        _leave_inbox([i.pk for i in waiting])
        _record(waiting, Activity.Kind.REVIEWED, user, now, {})
    return len(waiting)


def mark_for_review(
    issues: QuerySet[Issue] | Iterable[Issue],
    *,
    user: User | None,
    now: dt.datetime,
) -> int:
    """Put ``issues`` (back) into the review inbox by hand; return how many
    were not in it already. (Sentry's ``{"inbox": true}``.)"""
    with transaction.atomic():
        reviewed = [i for i in _locked(issues) if not i.inbox_reason]
        Issue.objects.filter(pk__in=[i.pk for i in reviewed]).update(
            inbox_reason=InboxReason.MANUAL, inbox_at=now
        )
    return len(reviewed)


def escalate_expired_ignores(now: dt.datetime) -> int:
    """Bring back, as escalating, the ignored issues whose time is up;
    return how many. The periodic job runs this every few minutes (digest
    also checks the issues its events touch)."""
    with transaction.atomic():
        expired = _locked(
            Issue.objects.filter(status=Status.IGNORED, ignore_until__lte=now)
        )
        _update(expired, ESCALATED_FIELDS)
        _record(expired, Activity.Kind.ESCALATING, None, now, {"reason": "until"})
    return len(expired)


def settle_new_issues(now: dt.datetime) -> int:
    """Turn "new" issues older than lifecycle.NEW_ISSUE_DAYS into "ongoing";
    return how many (one UPDATE)."""
    cutoff = now - dt.timedelta(days=lifecycle.NEW_ISSUE_DAYS)
    return Issue.objects.filter(
        status=Status.UNRESOLVED, substatus=Substatus.NEW, first_seen__lte=cutoff
    ).update(substatus=Substatus.ONGOING)
