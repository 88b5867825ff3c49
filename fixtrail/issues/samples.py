"""The first stored event of issues, decoded: what owners and similarity
are computed from when an issue opens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fixtrail.events.models import Event
from fixtrail.events.storage import CorruptEventData


def first_event_data(issue_ids: Iterable[int]) -> dict[int, tuple[int, dict[str, Any]]]:
    """Return ``{issue_id: (project_id, normalized event)}`` for the first
    event of each issue; issues whose first event cannot be read are left
    out. One query; each event is decompressed once."""
    ids = sorted(set(issue_ids))
    first: dict[int, Event] = {}
    if ids:
        for event in Event.objects.filter(issue_id__in=ids).order_by(
            "issue_id", "timestamp", "pk"
        ):
            first.setdefault(event.issue_id, event)
    out: dict[int, tuple[int, dict[str, Any]]] = {}
    for issue_id, event in first.items():
        try:
            out[issue_id] = (event.project_id, event.get_data())
        except CorruptEventData:
            continue
    return out
