"""Release health from the session counts digest stores per day
(events.SessionCount): crash-free sessions and adoption, in the figures
Sentry's release API calls ``healthData``.

Each SDK session is counted once as ``started`` and once in its final
status (``exited``, ``errored``, ``crashed``, ``abnormal``), so::

    total sessions     = started
    crash-free (%)     = 100 × (1 − crashed / started)
    adoption (%)       = 100 × this release's sessions in the last day
                               / the project's sessions in the last day

Fixtrail counts sessions, not distinct users, so the user figures stay
None (Sentry answers None too when it has no data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import Sum

from fixtrail.events.models import SessionCount


def health_figures(
    statuses: Mapping[str, int], release_last_day: int, project_last_day: int
) -> dict:
    """Return Sentry's ``healthData`` from session counts by status and
    the started sessions of the release and of the project in the last
    day."""
    started = statuses.get("started", 0)
    crashed = statuses.get("crashed", 0)
    errored = statuses.get("errored", 0)
    has_data = started > 0

    def share(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 3) if whole else None

    crash_free = share(max(started - crashed, 0), started)
    return {
        "hasHealthData": has_data,
        "totalSessions": started,
        "totalSessions24h": release_last_day,
        "totalProjectSessions24h": project_last_day,
        "sessionsCrashed": crashed,
        "sessionsErrored": errored,
        "crashFreeSessions": crash_free,
        "crashFreeUsers": None,
        "totalUsers": None,
        "totalUsers24h": None,
        "totalProjectUsers24h": None,
        "adoption": share(release_last_day, project_last_day),
        "sessionsAdoption": share(release_last_day, project_last_day),
        "durationP50": None,
        "durationP90": None,
        "stats": {},
    }


def release_health(project_id: int, version: str, now: dt.datetime) -> dict:
    """Return ``healthData`` of ``version`` in one project (three queries)."""
    rows = (
        SessionCount.objects.filter(project_id=project_id, release=version)
        .values("status")
        .annotate(total=Sum("count"))
    )
    statuses = {row["status"]: row["total"] for row in rows}
    # "The last day": today's and yesterday's buckets, since counts are
    # stored per UTC day.
    since = (now - dt.timedelta(days=1)).date()
    recent = SessionCount.objects.filter(
        project_id=project_id, status="started", day__gte=since
    )
    release_day = recent.filter(release=version).aggregate(n=Sum("count"))["n"] or 0
    project_day = recent.aggregate(n=Sum("count"))["n"] or 0
    return health_figures(statuses, release_day, project_day)
