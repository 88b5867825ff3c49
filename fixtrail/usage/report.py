"""The instance usage report: is error tracking used, and how.

Everything is computed from this instance's own tables when asked; the
report is never sent anywhere. ``usage_report`` returns plain data, which
the admin page, ``/api/v1/usage`` and ``fixtrail usage`` all format.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from fixtrail.usage.features import feature_use

# A quarter is the longest window the page offers; longer windows still
# work from the command line and API.
MAX_DAYS = 366


def _days(since: dt.datetime, now: dt.datetime) -> list[dt.date]:
    first = since.date()
    return [first + dt.timedelta(days=i) for i in range((now.date() - first).days + 1)]


def _per_day(events, issues, since: dt.datetime, now: dt.datetime) -> list[dict]:
    event_counts = {r["day"]: r["n"] for r in events}
    issue_counts = {r["day"]: r["n"] for r in issues}
    return [
        {
            "day": d.isoformat(),
            "events": event_counts.get(d) or 0,
            "issues": issue_counts.get(d) or 0,
        }
        for d in _days(since, now)
    ]


def _projects(since: dt.datetime) -> dict:
    from fixtrail.issues.models import HourlyCount
    from fixtrail.projects.models import Project

    enabled = Project.objects.filter(keys__is_active=True).distinct()
    received = (
        HourlyCount.objects.filter(hour__gte=since)
        .values("issue__project__organization__slug", "issue__project__slug")
        .annotate(events=Sum("count"))
        .order_by("-events", "issue__project__slug")
    )
    receiving = [
        {
            "organization": r["issue__project__organization__slug"],
            "project": r["issue__project__slug"],
            "events": r["events"],
        }
        for r in received
    ]
    return {
        "total": Project.objects.count(),
        "ingestion_enabled": enabled.count(),
        "receiving_events": len(receiving),
        "by_project": receiving,
    }


def _tickets(since: dt.datetime) -> list[dict]:
    from fixtrail.accounts.models import Organization
    from fixtrail.integrations.tickets import tickets_created

    per_tracker: dict[str, int] = defaultdict(int)
    for org in Organization.objects.all():
        for row in tickets_created(org, since):
            per_tracker[row["tracker"]] += row["count"]
    return [{"tracker": t, "count": n} for t, n in sorted(per_tracker.items())]


def usage_report(now: dt.datetime, days: int) -> dict:
    """Return the report for the ``days`` days up to ``now`` (UTC days).

    Runs one query per organization for tickets and a few grouped queries
    for the rest; events per day come from the hourly counts, not from the
    (much larger) event table.
    """
    from fixtrail.issues.models import Activity, HourlyCount, Issue
    from fixtrail.releases.models import MergeRequest

    days = max(1, min(days, MAX_DAYS))
    since = dt.datetime.combine(
        (now - dt.timedelta(days=days - 1)).date(), dt.time(), tzinfo=dt.UTC
    )
    users = get_user_model().objects.filter(is_active=True)
    events = (
        HourlyCount.objects.filter(hour__gte=since)
        .annotate(day=TruncDate("hour"))
        .values("day")
        .annotate(n=Sum("count"))
    )
    issues = (
        Issue.objects.filter(first_seen__gte=since)
        .annotate(day=TruncDate("first_seen"))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {
        "generated_at": now.isoformat(),
        "days": days,
        "since": since.isoformat(),
        "projects": _projects(since),
        "per_day": _per_day(events, issues, since, now),
        "tickets_created": _tickets(since),
        "issues_resolved_by_commits": Activity.objects.filter(
            kind=Activity.Kind.RESOLVED, created_at__gte=since, data__has_key="commit"
        ).count(),
        "merge_request_notes": MergeRequest.objects.filter(
            feedback_sent_at__gte=since
        ).count(),
        "users": {
            "total": users.count(),
            "active": users.filter(last_login__gte=since).count(),
        },
        "features": feature_use(since),
    }
