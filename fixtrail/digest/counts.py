"""The aggregates a batch adds to: hourly counts, tag values and affected
users, each one upsert per table whatever the batch size."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from fixtrail.core import upserts
from fixtrail.digest.issue_writes import IssueBatch
from fixtrail.digest.prepare import hour_of
from fixtrail.issues.models import (
    HourlyCount,
    IssueUser,
    TagValue,
)


def _aggregate_rows(batches: dict[int, IssueBatch]):
    hourly: dict[tuple[int, dt.datetime], int] = defaultdict(int)
    tags: dict[tuple[int, str, str], list] = {}
    users: dict[tuple[int, str], list] = {}
    for issue_id, batch in batches.items():
        for event in batch.events:
            ts = event.timestamp
            hourly[(issue_id, hour_of(ts))] += 1
            for key, value in event.tags:
                row = tags.get((issue_id, key, value))
                if row is None:
                    tags[(issue_id, key, value)] = [1, ts, ts]
                else:
                    row[0] += 1
                    row[1] = min(row[1], ts)
                    row[2] = max(row[2], ts)
            if event.identity:
                row = users.get((issue_id, event.identity))
                if row is None:
                    users[(issue_id, event.identity)] = [event.email, ts, ts]
                else:
                    row[0] = row[0] or event.email
                    row[1] = min(row[1], ts)
                    row[2] = max(row[2], ts)
    return hourly, tags, users


def write_aggregates(batches: dict[int, IssueBatch]) -> None:
    """Add the batch's hourly counts, tag values and affected users, one
    upsert per table."""
    hourly, tags, users = _aggregate_rows(batches)
    upserts.upsert_add(
        HourlyCount,
        [{"issue": i, "hour": h, "count": c} for (i, h), c in hourly.items()],
        key=("issue", "hour"),
        add=("count",),
    )
    upserts.upsert_add(
        TagValue,
        [
            {
                "issue": i,
                "key": k,
                "value": v,
                "times_seen": n,
                "first_seen": first,
                "last_seen": last,
            }
            for (i, k, v), (n, first, last) in tags.items()
        ],
        key=("issue", "key", "value"),
        add=("times_seen",),
        least=("first_seen",),
        greatest=("last_seen",),
    )
    if users:
        known = upserts.existing_keys(IssueUser, list(users), key=("issue", "identity"))
        for issue_id, identity in users:
            if (issue_id, identity) not in known:
                batches[issue_id].new_users += 1
        upserts.upsert_add(
            IssueUser,
            [
                {
                    "issue": i,
                    "identity": ident,
                    "email": email,
                    "first_seen": first,
                    "last_seen": last,
                }
                for (i, ident), (email, first, last) in users.items()
            ],
            key=("issue", "identity"),
            least=("first_seen",),
            greatest=("last_seen",),
        )
