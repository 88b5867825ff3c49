"""Sentry-shaped JSON for Fixtrail's objects, as ``/api/0/`` returns them.

Field names, types and formats follow Sentry's web API, because the tools
that read them (sentry-cli, GitLab's error tracking, dashboards) were
written against it: ids are strings, ``count`` is a string, ``userCount`` a
number, times are ISO 8601 in UTC with a ``Z``::

    {"id": "42", "shortId": "BACKEND-1A", "count": "17", "userCount": 3,
     "firstSeen": "2024-05-01T12:00:00.000000Z", "status": "unresolved",
     "stats": {"24h": [[1714550400, 0], ..., [1714633200, 5]]}, ...}

Lists are serialized in batches: a page of issues costs a fixed number of
queries whatever its length (stats, bookmarks, seen marks, comments, links,
resolution actors).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils.html import format_html

from fixtrail.accounts.models import ApiToken, Organization, User
from fixtrail.api import entries
from fixtrail.events.models import Event, UserReport
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.charts import bucket_counts
from fixtrail.issues.models import (
    Activity,
    HourlyCount,
    InboxReason,
    Issue,
    Priority,
    Status,
    TagValue,
)
from fixtrail.projects.models import Project, ProjectKey

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# statsPeriod -> (number of buckets, bucket length), Sentry's two choices
# for lists; an issue's own page also gets "30d".
STATS_PERIODS = {"24h": (24, HOUR), "14d": (14, DAY), "30d": (30, DAY)}
LIST_STATS_PERIODS = ("24h", "14d")

PRIORITY_NAMES = {Priority.LOW: "low", Priority.MEDIUM: "medium", Priority.HIGH: "high"}

# Activity kinds as Sentry's activity feed names them.
ACTIVITY_TYPES = {
    Activity.Kind.FIRST_SEEN: "first_seen",
    Activity.Kind.RESOLVED: "set_resolved",
    Activity.Kind.UNRESOLVED: "set_unresolved",
    Activity.Kind.REGRESSION: "set_regression",
    Activity.Kind.IGNORED: "set_ignored",
    Activity.Kind.ESCALATING: "set_escalating",
    Activity.Kind.ASSIGNED: "assigned",
    Activity.Kind.UNASSIGNED: "unassigned",
    Activity.Kind.MERGED: "merge",
    Activity.Kind.COMMENT: "note",
    Activity.Kind.PRIORITY: "set_priority",
    Activity.Kind.REVIEWED: "mark_reviewed",
}

# Inbox reasons as Sentry's GroupInboxReason numbers them.
INBOX_REASON_CODES = {
    InboxReason.NEW: 0,
    InboxReason.REGRESSION: 2,
    InboxReason.MANUAL: 3,
    InboxReason.ESCALATING: 5,
}

# Display names of the tags every SDK sends; other tags show their key.
TAG_NAMES = {
    "browser": "Browser",
    "browser.name": "Browser Name",
    "device": "Device",
    "environment": "Environment",
    "level": "Level",
    "logger": "Logger",
    "os": "OS",
    "os.name": "OS Name",
    "release": "Release",
    "runtime": "Runtime",
    "runtime.name": "Runtime Name",
    "server_name": "Server",
    "transaction": "Transaction",
    "url": "URL",
    "user": "User",
}

# An issue page lists at most this many tag keys and values per key; a
# flood of unique tag values must not make the answer unbounded.
MAX_TAG_KEYS = 100
TOP_TAG_VALUES = 9

_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


def iso(moment: dt.datetime | None) -> str | None:
    """Return ``moment`` as Sentry prints times: ISO 8601, UTC, ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def absolute_url(path: str) -> str:
    """Return ``path`` on this installation's public address."""
    return settings.BASE_URL.rstrip("/") + path


def avatar() -> dict:
    return {"avatarType": "letter_avatar", "avatarUuid": None}


def user_payload(user: User) -> dict:
    """Return a user as Sentry's user serializer shows them."""
    return {
        "id": str(user.pk),
        "name": user.name or user.email,
        "username": user.email,
        "email": user.email,
        "avatarUrl": None,
        "isActive": user.is_active,
        "hasPasswordAuth": user.has_usable_password(),
        "isManaged": False,
        "dateJoined": iso(user.date_joined),
        "lastLogin": iso(user.last_login),
        "has2fa": False,
        "isSuperuser": user.is_superuser,
        "isStaff": False,
        "emails": [{"id": str(user.pk), "email": user.email, "is_verified": True}],
        "avatar": avatar(),
    }


def auth_payload(token: ApiToken) -> dict:
    """Return what ``GET /api/0/`` says about the token itself."""
    return {"scopes": list(token.scopes)}


def organization_payload(org: Organization) -> dict:
    """Return an organization; the fields sentry-cli requires are all here."""
    base = absolute_url("")
    return {
        "id": str(org.pk),
        "slug": org.slug,
        "name": org.name,
        "dateCreated": iso(org.created_at),
        "isEarlyAdopter": False,
        "require2FA": False,
        "requireEmailVerification": False,
        "status": {"id": "active", "name": "active"},
        "avatar": avatar(),
        "features": [],
        "hasAuthProvider": False,
        "links": {"organizationUrl": base, "regionUrl": base},
    }


def team_payload(team: Any) -> dict:
    return {"id": str(team.pk), "slug": team.slug, "name": team.name}


def project_payloads(
    projects: Sequence[Project], *, with_organization: bool = True
) -> list[dict]:
    """Return projects (three queries: teams, first events and environments
    of all of them)."""
    ids = [project.pk for project in projects]
    # Dashboards (Grafana's environment variable) list a project's
    # environments from here; digest counts them as tags of issues.
    environments: dict[int, set[str]] = defaultdict(set)
    for project_id, name in (
        TagValue.objects.filter(issue__project_id__in=ids, key="environment")
        .values_list("issue__project_id", "value")
        .distinct()
    ):
        environments[project_id].add(name)
    first_events = dict(
        Issue.objects.filter(project_id__in=ids)
        .values("project_id")
        .annotate(first=Min("first_seen"))
        .values_list("project_id", "first")
    )
    teams: dict[int, list] = defaultdict(list)
    through = Project.teams.through
    for row in through.objects.filter(project_id__in=ids).select_related("team"):
        teams[row.project_id].append(team_payload(row.team))
    payloads = []
    for project in projects:
        project_teams = sorted(teams[project.pk], key=lambda t: t["slug"])
        payload = {
            "id": str(project.pk),
            "slug": project.slug,
            "name": project.name,
            "platform": project.platform,
            "dateCreated": iso(project.created_at),
            "firstEvent": iso(first_events.get(project.pk)),
            "isBookmarked": False,
            "isMember": True,
            "hasAccess": True,
            "isPublic": False,
            "isInternal": False,
            "status": "active",
            "features": [],
            "avatar": avatar(),
            "team": project_teams[0] if project_teams else None,
            "teams": project_teams,
            "environments": sorted(environments[project.pk]),
        }
        if with_organization:
            payload["organization"] = organization_payload(project.organization)
        payloads.append(payload)
    return payloads


def project_ref(project: Project) -> dict:
    """Return the short project object nested in issues."""
    return {
        "id": str(project.pk),
        "name": project.name,
        "slug": project.slug,
        "platform": project.platform,
    }


def key_payload(key: ProjectKey) -> dict:
    """Return a DSN key in the shape of Sentry's project keys list."""
    base = absolute_url("")
    project_id = key.project_id
    scheme, _, rest = key.dsn.partition("://")
    host_and_path = rest.partition("@")[2]
    ingest = f"{base}/api/{project_id}/security/?sentry_key={key.public_key}"
    return {
        "id": key.public_key,
        "name": key.label,
        "label": key.label,
        "public": key.public_key,
        "secret": key.secret_key,
        "projectId": project_id,
        "isActive": key.is_active,
        "rateLimit": {"window": 60, "count": key.rate_limit_per_minute}
        if key.rate_limit_per_minute
        else None,
        "dsn": {
            "public": key.dsn,
            "secret": f"{scheme}://{key.public_key}:{key.secret_key}@{host_and_path}",
            "csp": ingest,
            "security": ingest,
            # Endpoints Fixtrail does not serve are empty, as Sentry leaves
            # them when a feature is off.
            "minidump": "",
            "unreal": "",
            "cdn": "",
        },
        "browserSdkVersion": "latest",
        "dateCreated": iso(key.created_at),
    }


def short_version(version: str) -> str:
    """Return a release as Sentry abbreviates it: no ``package@`` prefix,
    commit hashes cut to 12 characters."""
    tail = version.rpartition("@")[2] or version
    return tail[:12] if _COMMIT_SHA.fullmatch(tail) else tail


def release_payload(version: str, seen: TagValue | None = None) -> dict:
    """Return a release as nested in issues and events.

    Fixtrail knows a release from the events that carry it, so its dates are
    those of its first and last event; commits and deploys are not known
    here and stay empty.
    """
    return {
        "version": version,
        "shortVersion": short_version(version),
        "ref": None,
        "url": None,
        "dateCreated": iso(seen.first_seen) if seen else None,
        "dateReleased": None,
        "firstEvent": iso(seen.first_seen) if seen else None,
        "lastEvent": iso(seen.last_seen) if seen else None,
        "newGroups": None,
        "commitCount": 0,
        "lastCommit": None,
        "authors": [],
        "deployCount": 0,
        "lastDeploy": None,
        "owner": None,
    }


def actor_payload(user: User | None) -> dict | None:
    if user is None:
        return None
    return {
        "type": "user",
        "id": str(user.pk),
        "name": user.display_name,
        "email": user.email,
    }


def assigned_to(issue: Issue) -> dict | None:
    """Return the issue's assignee as Sentry's actor object, or None.

    Reads issue.assignee and issue.assignee_team (select them).
    """
    if issue.assignee is not None:
        return actor_payload(issue.assignee)
    if issue.assignee_team is not None:
        return {
            "type": "team",
            "id": str(issue.assignee_team.pk),
            "name": issue.assignee_team.slug,
        }
    return None


def status_details(issue: Issue, actor: dict | None) -> dict:
    """Return Sentry's ``statusDetails`` for the issue's state."""
    if issue.status == Status.RESOLVED:
        if issue.resolved_in_next_release:
            return {"inNextRelease": True, "actor": actor}
        if issue.resolved_in_release:
            return {"inRelease": issue.resolved_in_release, "actor": actor}
        if issue.resolved_in_commit:
            return {"inCommit": {"id": issue.resolved_in_commit}, "actor": actor}
        return {}
    if issue.status == Status.IGNORED:
        conditions = (
            issue.ignore_until,
            issue.ignore_count,
            issue.ignore_user_count,
        )
        if not any(value is not None for value in conditions):
            return {}
        count = issue.ignore_count
        if count is not None and issue.ignore_window is None:
            # Without a window the count is "N more", so show what is left.
            count = count - (issue.times_seen - issue.ignore_base_count)
        users = issue.ignore_user_count
        if users is not None and issue.ignore_user_window is None:
            users = users - (issue.user_count - issue.ignore_base_users)
        return {
            "ignoreCount": count,
            "ignoreUntil": iso(issue.ignore_until),
            "ignoreUserCount": users,
            "ignoreUserWindow": issue.ignore_user_window,
            "ignoreWindow": issue.ignore_window,
            "actor": actor,
        }
    return {}


def stats_start(period: str, now: dt.datetime) -> tuple[dt.datetime, int, dt.timedelta]:
    """Return (first bucket's start, buckets, step) of a stats period."""
    buckets, step = STATS_PERIODS[period]
    if step == HOUR:
        current = now.replace(minute=0, second=0, microsecond=0)
    else:
        current = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return current - (buckets - 1) * step, buckets, step


def issue_stats(issue_ids: list[int], periods: Iterable[str], now: dt.datetime) -> dict:
    """Return ``{issue_id: {period: [[epoch, count], ...]}}`` (one query)."""
    periods = list(periods)
    if not periods or not issue_ids:
        return {}
    windows = {
        period: stats_start(period, now.astimezone(dt.UTC)) for period in periods
    }
    earliest = min(start for start, _, _ in windows.values())
    rows: dict[int, list] = defaultdict(list)
    for issue_id, hour, count in HourlyCount.objects.filter(
        issue_id__in=issue_ids, hour__gte=earliest
    ).values_list("issue_id", "hour", "count"):
        rows[issue_id].append((hour, count))
    stats = {}
    for issue_id in issue_ids:
        stats[issue_id] = {}
        for period, (start, buckets, step) in windows.items():
            counts = bucket_counts(rows[issue_id], start, step, buckets)
            stats[issue_id][period] = [
                [int((start + i * step).timestamp()), count]
                for i, count in enumerate(counts)
            ]
    return stats


def _links_by_issue(issue_ids: list[int]) -> dict[int, list[ExternalIssueLink]]:
    links = defaultdict(list)
    for link in ExternalIssueLink.objects.filter(issue_id__in=issue_ids).order_by(
        "created_at"
    ):
        links[link.issue_id].append(link)
    return links


def annotations(links: list[ExternalIssueLink]) -> list[str]:
    """Return linked tickets as Sentry's annotations: HTML anchors, the form
    GitLab reads them in (it keeps the ``href`` that points at itself)."""
    return [
        format_html('<a href="{}">{}</a>', link.url, link.label)
        for link in links
        if link.url.startswith(("http://", "https://"))
    ]


def plugin_issues(links: list[ExternalIssueLink]) -> list[dict]:
    """Return the latest linked ticket of each provider as ``pluginIssues``."""
    latest = {link.provider: link for link in links}
    return [
        {
            "id": provider,
            "title": ExternalIssueLink.Provider(provider).label,
            "issue": {
                "issue_id": link.external_id,
                "url": link.url or None,
                "label": link.label,
            },
        }
        for provider, link in sorted(latest.items())
    ]


def _resolution_actors(issues: Sequence[Issue]) -> dict[int, dict | None]:
    """Return who last resolved or ignored each resolved or ignored issue."""
    ids = [issue.pk for issue in issues if issue.status != Status.UNRESOLVED]
    if not ids:
        return {}
    actors: dict[int, dict | None] = {}
    kinds = [Activity.Kind.RESOLVED, Activity.Kind.IGNORED]
    for activity in (
        Activity.objects.filter(issue_id__in=ids, kind__in=kinds)
        .select_related("user")
        .order_by("created_at", "pk")
    ):
        actors[activity.issue_id] = actor_payload(activity.user)
    return actors


def issue_payloads(
    issues: Sequence[Issue],
    *,
    user: User,
    now: dt.datetime,
    stats_period: str | None = "24h",
    extra_periods: Sequence[str] = (),
) -> list[dict]:
    """Return Sentry's list shape of ``issues`` for ``user``.

    ``issues`` should come with project, assignee and assignee_team selected.
    ``stats_period`` is "24h", "14d" or None (no ``stats`` key).
    """
    ids = [issue.pk for issue in issues]
    periods = [*([stats_period] if stats_period else []), *extra_periods]
    stats = issue_stats(ids, periods, now)
    bookmarked = set(
        Issue.bookmarked_by.through.objects.filter(
            issue_id__in=ids, user=user
        ).values_list("issue_id", flat=True)
    )
    seen = set(
        Issue.seen_by.through.objects.filter(issue_id__in=ids, user=user).values_list(
            "issue_id", flat=True
        )
    )
    comments = dict(
        Activity.objects.filter(issue_id__in=ids, kind=Activity.Kind.COMMENT)
        .values("issue_id")
        .annotate(n=Count("pk"))
        .values_list("issue_id", "n")
    )
    links = _links_by_issue(ids)
    actors = _resolution_actors(issues)
    payloads = []
    for issue in issues:
        payload = {
            "id": str(issue.pk),
            "shareId": None,
            "shortId": issue.short_id_display,
            "title": issue.title,
            "culprit": issue.culprit,
            "permalink": absolute_url(issue.get_absolute_url()),
            "logger": None,
            "level": issue.level,
            "status": issue.status,
            "statusDetails": status_details(issue, actors.get(issue.pk)),
            "substatus": issue.substatus or None,
            "priority": PRIORITY_NAMES.get(issue.priority, "medium"),
            "isPublic": False,
            "platform": issue.platform,
            "project": project_ref(issue.project),
            "type": "error" if issue.type else "default",
            "metadata": _metadata(issue),
            "numComments": comments.get(issue.pk, 0),
            "assignedTo": assigned_to(issue),
            "isBookmarked": issue.pk in bookmarked,
            "isSubscribed": False,
            "subscriptionDetails": None,
            "hasSeen": issue.pk in seen,
            "annotations": annotations(links[issue.pk]),
            "isUnhandled": False,
            "count": str(issue.times_seen),
            "userCount": issue.user_count,
            "firstSeen": iso(issue.first_seen),
            "lastSeen": iso(issue.last_seen),
            "inbox": inbox_payload(issue),
        }
        if periods:
            payload["stats"] = stats[issue.pk]
        payloads.append(payload)
    return payloads


def inbox_payload(issue: Issue) -> dict | None:
    """Return Sentry's ``inbox`` of an issue waiting for review, else None."""
    if not issue.inbox_reason:
        return None
    return {
        "reason": INBOX_REASON_CODES.get(issue.inbox_reason, 3),
        "reason_details": None,
        "date_added": iso(issue.inbox_at),
    }


def _metadata(issue: Issue) -> dict:
    metadata = dict(issue.metadata) if isinstance(issue.metadata, dict) else {}
    if issue.type:
        metadata.setdefault("type", issue.type)
        metadata.setdefault("value", issue.value)
    else:
        metadata.setdefault("title", issue.title)
    return metadata


def tag_key_payloads(issue: Issue, *, top_values: bool) -> list[dict]:
    """Return the issue's tag keys with their totals (and top values).

    Two queries: totals per key, then the values of the listed keys.
    """
    keys = list(
        TagValue.objects.filter(issue=issue)
        .values("key")
        .annotate(total=Sum("times_seen"), unique=Count("pk"))
        .order_by("key")[:MAX_TAG_KEYS]
    )
    values: dict[str, list] = defaultdict(list)
    if top_values and keys:
        for tag in TagValue.objects.filter(
            issue=issue, key__in=[k["key"] for k in keys]
        ).order_by("key", "-times_seen", "value"):
            if len(values[tag.key]) < TOP_TAG_VALUES:
                values[tag.key].append(tag_value_payload(tag))
    payloads = []
    for row in keys:
        payload = {
            "key": row["key"],
            "name": TAG_NAMES.get(row["key"], row["key"]),
            "totalValues": row["total"],
            "uniqueValues": row["unique"],
        }
        if top_values:
            payload["topValues"] = values[row["key"]]
        payloads.append(payload)
    return payloads


def tag_value_payload(tag: TagValue) -> dict:
    return {
        "key": tag.key,
        "name": tag.value,
        "value": tag.value,
        "count": tag.times_seen,
        "firstSeen": iso(tag.first_seen),
        "lastSeen": iso(tag.last_seen),
    }


def activity_payload(activity: Activity) -> dict:
    data = dict(activity.data) if isinstance(activity.data, dict) else {}
    return {
        "id": str(activity.pk),
        "user": actor_payload(activity.user),
        "type": ACTIVITY_TYPES.get(activity.kind, activity.kind),
        "data": data,
        "dateCreated": iso(activity.created_at),
    }


# An issue page shows the latest activity; older entries are on the UI page.
MAX_ACTIVITY = 100


def issue_detail_payload(issue: Issue, *, user: User, now: dt.datetime) -> dict:
    """Return one issue as Sentry's issue details endpoint does.

    Adds to the list shape: 24-hour and 30-day stats, releases, activity,
    tags, linked tickets (``pluginIssues``) and the user-report count.
    """
    (payload,) = issue_payloads(
        [issue], user=user, now=now, stats_period="24h", extra_periods=["30d"]
    )
    releases = {
        tag.value: tag
        for tag in TagValue.objects.filter(
            issue=issue,
            key="release",
            value__in=[issue.first_release, issue.last_release],
        )
    }
    links = _links_by_issue([issue.pk])[issue.pk]
    activity = (
        Activity.objects.filter(issue=issue)
        .select_related("user")
        .order_by("-created_at", "-pk")[:MAX_ACTIVITY]
    )
    reports = UserReport.objects.filter(
        project_id=issue.project_id,
        event_id__in=Event.objects.filter(issue=issue).values("event_id"),
    ).count()
    # Releases sentry-cli or digest recorded carry their commits and
    # deploys (GitLab links lastCommit); imported here to avoid a cycle.
    from fixtrail.api.release_payloads import in_commit_payload, with_release_record

    if payload["statusDetails"].get("inCommit"):
        # The fixing commit in full, with its merge request (Sentry's shape).
        payload["statusDetails"]["inCommit"] = in_commit_payload(issue)

    payload.update(
        {
            "firstRelease": with_release_record(
                issue,
                release_payload(issue.first_release, releases.get(issue.first_release)),
            )
            if issue.first_release
            else None,
            "lastRelease": with_release_record(
                issue,
                release_payload(issue.last_release, releases.get(issue.last_release)),
            )
            if issue.last_release
            else None,
            "activity": [activity_payload(a) for a in activity],
            "tags": tag_key_payloads(issue, top_values=False),
            "pluginIssues": plugin_issues(links),
            "pluginActions": [],
            "pluginContexts": [],
            "participants": [],
            "seenBy": [],
            "userReportCount": reports,
        }
    )
    return payload


def event_summary_payload(event: Event, data: dict) -> dict:
    """Return an event as issue event lists show it (no entries)."""
    message, _, _ = entries.message_text(data)
    return {
        "id": event.event_id,
        "eventID": event.event_id,
        "groupID": str(event.issue_id),
        "projectID": str(event.project_id),
        "dateCreated": iso(event.timestamp),
        "dateReceived": iso(event.received_at),
        "title": event.title,
        "message": message or "",
        "platform": data.get("platform")
        if isinstance(data.get("platform"), str)
        else None,
        "event.type": entries.event_type(data),
        "location": entries.event_location(data),
        "culprit": data.get("culprit")
        if isinstance(data.get("culprit"), str)
        else None,
        "user": entries.event_user(data),
        "tags": entries.event_tags(data),
    }


def event_payload(
    event: Event,
    data: dict,
    *,
    issue: Issue,
    previous_id: str | None = None,
    next_id: str | None = None,
) -> dict:
    """Return an event as Sentry's event details endpoints do.

    ``issue`` is the event's issue (its culprit stands in when the SDK sent
    none); the release's first and last event run one query.
    """
    payload = event_summary_payload(event, data)
    del payload["event.type"]
    extra = data.get("extra")
    contexts = data.get("contexts")
    fingerprint = data.get("fingerprint")
    release = None
    if event.release:
        seen = TagValue.objects.filter(
            issue_id=event.issue_id, key="release", value=event.release
        ).first()
        release = release_payload(event.release, seen)
    payload.update(
        {
            "culprit": payload["culprit"] or issue.culprit,
            "type": entries.event_type(data),
            "metadata": entries.event_metadata(data),
            "logger": data.get("logger")
            if isinstance(data.get("logger"), str)
            else None,
            "context": extra if isinstance(extra, dict) else {},
            "contexts": contexts if isinstance(contexts, dict) else {},
            "sdk": entries.event_sdk(data),
            "entries": entries.event_entries(data),
            # What digest could not resolve (fixtrail.symbols.symbolicate).
            "errors": [e for e in _list_of(data.get("errors")) if isinstance(e, dict)],
            "size": event.size,
            "fingerprints": [event.grouping_hash],
            "fingerprint": fingerprint if isinstance(fingerprint, list) else None,
            "release": release,
            "dist": data.get("dist") if isinstance(data.get("dist"), str) else None,
            "packages": data.get("modules")
            if isinstance(data.get("modules"), dict)
            else {},
            "crashFile": None,
            "userReport": None,
            "occurrence": None,
            "_meta": {},
            "previousEventID": previous_id,
            "nextEventID": next_id,
        }
    )
    return payload


def _list_of(value: Any) -> list:
    return value if isinstance(value, list) else []
