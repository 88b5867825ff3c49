"""Events per hour and per day of a few issues, read from HourlyCount for
the list's sparklines and the issue page's charts.

Daily totals are summed by the database: a busy issue has 720 hourly rows
in 30 days, and turning each into a Python datetime costs more than the
rest of the page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import CharField, Func, Sum

from fixtrail.issues.models import HourlyCount


class UtcDay(Func):
    """The UTC day of a timestamp column as text, "YYYY-MM-DD"."""

    output_field = CharField()
    # SQLite keeps timestamps as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    template = "substr(%(expressions)s, 1, 10)"

    def as_postgresql(
        self, compiler: object, connection: object, **extra: object
    ) -> tuple[str, list]:
        return self.as_sql(
            compiler,
            connection,
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            **extra,
        )


def hourly_totals(
    issue_ids: list[int], since: dt.datetime
) -> dict[int, list[tuple[dt.datetime, int]]]:
    """Return each issue's (hour, count) rows from ``since`` on."""
    out: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for issue_id, hour, count in HourlyCount.objects.filter(
        issue_id__in=issue_ids, hour__gte=since
    ).values_list("issue_id", "hour", "count"):
        out[issue_id].append((hour, count))
    return out


def daily_totals(
    issue_ids: list[int], since: dt.date
) -> dict[int, list[tuple[dt.datetime, int]]]:
    """Return each issue's (start of UTC day, count) totals from the day
    ``since`` on."""
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    rows = (
        HourlyCount.objects.filter(issue_id__in=issue_ids, hour__gte=start)
        .annotate(day=UtcDay("hour"))
        .values("issue_id", "day")
        .annotate(total=Sum("count"))
        .values_list("issue_id", "day", "total")
    )
    out: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for issue_id, day, total in rows:
        moment = dt.datetime.combine(
            dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC
        )
        out[issue_id].append((moment, total))
    return out
