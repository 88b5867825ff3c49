"""What happens to a new issue once digest has stored its first events.

Digest calls :func:`process_new_issues` inside its batch transaction with
the ids of the issues the batch opened. Local work only (no outside
service): the owner from the project's ownership rules and
auto-assignment (fixtrail.issues.owners), and the signatures that find
similar issues (fixtrail.issues.similar).
"""

from __future__ import annotations

import datetime as dt

from fixtrail.issues import owners, similar
from fixtrail.issues.samples import first_event_data


def process_new_issues(issue_ids: list[int], now: dt.datetime) -> None:
    """Run the new-issue steps for ``issue_ids`` (no-op when empty)."""
    if not issue_ids:
        return
    data = first_event_data(issue_ids)
    owners.assign_new_issues(issue_ids, now, data)
    similar.index_issues(issue_ids, data)
