"""Sentry's issue update body, turned into calls of the issue workflows.

``PUT /api/0/issues/{id}/`` and the bulk ``PUT`` on issue lists take one
JSON object; each key present is one change, applied in this order::

    {"status": "resolved" | "resolvedInNextRelease" | "unresolved"
               | "ignored" | "muted",
     "statusDetails": {"inRelease": "1.2" | "latest", "inNextRelease": true,
                       "inCommit": {"commit": "abc123", "repository": "..."},
                       "ignoreDuration": 30, "ignoreCount": 100,
                       "ignoreWindow": 60, "ignoreUserCount": 10,
                       "ignoreUserWindow": 60},
     "ignoreDuration": 30,            # legacy, minutes
     "snoozeDuration": 30,            # what sentry-cli sends, minutes
     "assignedTo": "user:3" | "team:2" | "alice@example.org" | "" | null,
     "priority": "low" | "medium" | "high",
     "hasSeen": true, "isBookmarked": true,
     "inbox": false,                  # mark reviewed; true puts it back
     "merge": true}

The answer lists what changed, in Sentry's names (``{"status":
"resolved", "statusDetails": {"inNextRelease": true}}``). The state
changes themselves are fixtrail.issues.actions; this module only reads the
body, checks its types, and decides which workflow to call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied

from fixtrail.accounts.models import Membership, Role, Team, User
from fixtrail.api.errors import BadRequest
from fixtrail.api.serializers import assigned_to, iso
from fixtrail.issues import actions
from fixtrail.issues.lifecycle import IN_COMMIT, IN_RELEASE, NEXT_RELEASE, NOW
from fixtrail.issues.models import Issue, Priority, TagValue

STATUSES = ("resolved", "resolvedInNextRelease", "unresolved", "ignored", "muted")
PRIORITIES = {"low": Priority.LOW, "medium": Priority.MEDIUM, "high": Priority.HIGH}

# Keys that change only the caller's own marks, which viewers may set too.
PERSONAL_KEYS = {"hasSeen", "isBookmarked"}
KNOWN_KEYS = {
    "status",
    "statusDetails",
    "ignoreDuration",
    "snoozeDuration",
    "assignedTo",
    "priority",
    "hasSeen",
    "isBookmarked",
    "inbox",
    "merge",
}


def _flag(body: dict, key: str) -> bool:
    value = body[key]
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false.")
    return value


def _minutes(details: dict, key: str) -> int | None:
    value = details.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be a whole number of minutes or events.")
    return value


def check_role(body: dict, membership: Membership) -> None:
    """Raise PermissionDenied unless the member may apply ``body``: personal
    marks need only to be a viewer, any triage needs a member."""
    changes = set(body) & KNOWN_KEYS
    role = Role.VIEWER if changes <= PERSONAL_KEYS else Role.MEMBER
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {role} role or higher.")


def check_body(body: Any) -> dict:
    """Return ``body`` if it is a JSON object naming at least one change."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    if not set(body) & KNOWN_KEYS:
        raise BadRequest(
            f"Nothing to change: send one of {', '.join(sorted(KNOWN_KEYS))}."
        )
    return body


def apply_update(
    issues: list[Issue],
    body: dict,
    *,
    user: User,
    membership: Membership,
    now: dt.datetime,
) -> dict:
    """Apply ``body`` to ``issues`` (all of ``membership``'s organization).

    Returns the changes in Sentry's names. Raises BadRequest for a malformed
    body, PermissionDenied when the member's role is too low, and
    IssueActionError when a workflow refuses.
    """
    check_role(body, membership)
    result: dict[str, Any] = {}
    if "status" in body and body["status"] is not None:
        result.update(_apply_status(issues, body, user=user, now=now))
    if "assignedTo" in body:
        assignee, team = _actor(body["assignedTo"], membership)
        actions.assign_issues(issues, user=user, assignee=assignee, team=team, now=now)
        for issue in issues:
            issue.assignee, issue.assignee_team = assignee, team
        result["assignedTo"] = assigned_to(issues[0]) if issues else None
    if "priority" in body:
        priority = (
            PRIORITIES.get(body["priority"])
            if isinstance(body["priority"], str)
            else None
        )
        if priority is None:
            raise BadRequest(f"priority must be one of {', '.join(PRIORITIES)}.")
        for issue in issues:
            actions.set_priority(issue, priority, user=user, now=now)
        result["priority"] = body["priority"]
    if "hasSeen" in body:
        seen = _flag(body, "hasSeen")
        for issue in issues:
            if seen:
                actions.mark_seen(issue, user)
            else:
                # Unmarking has no workflow: it only forgets the caller's mark.
                issue.seen_by.remove(user)
        result["hasSeen"] = seen
    if "isBookmarked" in body:
        on = _flag(body, "isBookmarked")
        for issue in issues:
            actions.set_bookmark(issue, user, on)
        result["isBookmarked"] = on
    if "inbox" in body:
        waiting = _flag(body, "inbox")
        if waiting:
            actions.mark_for_review(issues, user=user, now=now)
        else:
            actions.mark_reviewed(issues, user=user, now=now)
        result["inbox"] = waiting
    if body.get("merge") is not None and _flag(body, "merge"):
        survivor = actions.merge_issues(issues, user=user, now=now)
        children = sorted(str(issue.pk) for issue in issues if issue.pk != survivor.pk)
        result["merge"] = {"parent": str(survivor.pk), "children": children}
    return result


def _apply_status(
    issues: list[Issue], body: dict, *, user: User, now: dt.datetime
) -> dict:
    status = body["status"]
    if status not in STATUSES:
        raise BadRequest(f"Invalid status: use one of {', '.join(STATUSES)}.")
    details = body.get("statusDetails") or {}
    if not isinstance(details, dict):
        raise BadRequest("statusDetails must be an object.")
    if status == "unresolved":
        actions.unresolve_issues(issues, user=user, now=now)
        return {"status": "unresolved", "statusDetails": {}}
    if status in ("ignored", "muted"):
        return _ignore(issues, body, details, user=user, now=now)
    return _resolve(issues, status, details, user=user, now=now)


def _resolve(
    issues: list[Issue], status: str, details: dict, *, user: User, now: dt.datetime
) -> dict:
    if status == "resolvedInNextRelease" or details.get("inNextRelease") is True:
        actions.resolve_issues(issues, user=user, how=NEXT_RELEASE, now=now)
        return {"status": "resolved", "statusDetails": {"inNextRelease": True}}
    if details.get("inRelease"):
        release = details["inRelease"]
        if not isinstance(release, str):
            raise BadRequest("inRelease must be a release version.")
        by_project: dict[int, list[Issue]] = {}
        for issue in issues:
            by_project.setdefault(issue.project_id, []).append(issue)
        for project_id, group in by_project.items():
            version = latest_release(project_id) if release == "latest" else release
            actions.resolve_issues(
                group, user=user, how=IN_RELEASE, release=version, now=now
            )
        return {"status": "resolved", "statusDetails": {"inRelease": release}}
    if details.get("inCommit"):
        commit = details["inCommit"]
        sha = commit.get("commit") if isinstance(commit, dict) else commit
        if not isinstance(sha, str) or not sha:
            raise BadRequest(
                'inCommit must be {"commit": "<sha>", "repository": "..."}.'
            )
        actions.resolve_issues(issues, user=user, how=IN_COMMIT, commit=sha, now=now)
        return {"status": "resolved", "statusDetails": {"inCommit": {"id": sha}}}
    actions.resolve_issues(issues, user=user, how=NOW, now=now)
    return {"status": "resolved", "statusDetails": {}}


def latest_release(project_id: int) -> str:
    """Return the release a project's events showed most recently first.

    Raises BadRequest when no event of the project named a release.
    """
    version = (
        TagValue.objects.filter(issue__project_id=project_id, key="release")
        .order_by("-first_seen", "-pk")
        .values_list("value", flat=True)
        .first()
    )
    if version is None:
        raise BadRequest(
            "No release data present in the system to resolve in the latest release."
        )
    return version


def _ignore(
    issues: list[Issue], body: dict, details: dict, *, user: User, now: dt.datetime
) -> dict:
    duration = _minutes(details, "ignoreDuration")
    for legacy in ("ignoreDuration", "snoozeDuration"):
        if duration is None:
            duration = _minutes(body, legacy)
    count = _minutes(details, "ignoreCount")
    window = _minutes(details, "ignoreWindow")
    user_count = _minutes(details, "ignoreUserCount")
    user_window = _minutes(details, "ignoreUserWindow")
    longest = actions.MAX_IGNORE_MINUTES
    if duration is not None and not 1 <= duration <= longest:
        raise BadRequest(f"ignoreDuration must be between 1 and {longest} minutes.")
    until = now + dt.timedelta(minutes=duration) if duration is not None else None
    actions.ignore_issues(
        issues,
        user=user,
        now=now,
        until=until,
        count=count,
        window_minutes=window,
        user_count=user_count,
        user_window_minutes=user_window,
    )
    answer: dict[str, Any] = {}
    if any(v is not None for v in (until, count, user_count)):
        answer = {
            "ignoreCount": count,
            "ignoreUntil": iso(until),
            "ignoreUserCount": user_count,
            "ignoreUserWindow": user_window,
            "ignoreWindow": window,
        }
    return {"status": "ignored", "statusDetails": answer}


def _actor(value: Any, membership: Membership) -> tuple[User | None, Team | None]:
    """Return the (person, team) that ``assignedTo`` names; both None to
    unassign. Only members and teams of the organization qualify."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise BadRequest("Unknown actor input")
    org = membership.organization
    members = User.objects.filter(memberships__organization=org)
    kind, _, ident = value.partition(":")
    if kind == "team" and ident.isdigit():
        team = Team.objects.filter(organization=org, pk=int(ident)).first()
        if team is None:
            raise BadRequest("Unknown actor input")
        return None, team
    if kind == "user" and ident.isdigit():
        user = members.filter(pk=int(ident)).first()
    elif value.isdigit():
        user = members.filter(pk=int(value)).first()
    else:
        user = members.filter(email__iexact=value).first()
    if user is None:
        raise BadRequest("Unknown actor input")
    return user, None
