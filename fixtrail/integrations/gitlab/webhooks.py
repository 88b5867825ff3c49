"""GitLab's issue webhooks ("Issue Hook").

GitLab sends the secret token as it was configured, in ``X-Gitlab-Token``,
and the issue's state in ``object_attributes``::

    X-Gitlab-Event: Issue Hook
    {"object_kind": "issue",
     "project": {"path_with_namespace": "group/app"},
     "object_attributes": {"iid": 12, "state": "closed", "action": "close",
                           "updated_at": "2026-12-01 10:00:00 UTC",
                           "url": "https://gitlab.example.com/group/app/-/issues/12"}}

See https://docs.gitlab.com/user/project/integrations/webhook_events/#work-item-events.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fixtrail.integrations.base import TicketChange, parse_time


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether the request carries the integration's secret token."""
    token = headers.get("X-Gitlab-Token", "")
    return hmac.compare_digest(token.encode(), secret.encode())


def parse(headers: Mapping[str, str], payload: dict, target: str) -> list[TicketChange]:
    """Return the state change an issue event reports for ``target``'s
    issues; other events and other projects' issues report none."""
    if payload.get("object_kind") not in ("issue", "work_item"):
        return []
    project = payload.get("project") or {}
    if str(project.get("path_with_namespace", "")).lower() != target.lower():
        return []
    attrs = payload.get("object_attributes") or {}
    at = parse_time(attrs.get("updated_at"))
    if attrs.get("iid") is None or at is None:
        return []
    return [
        TicketChange(
            external_id=str(attrs["iid"]),
            state="closed" if attrs.get("state") == "closed" else "open",
            at=at,
            url=str(attrs.get("url") or ""),
            title=str(attrs.get("title") or ""),
        )
    ]
