"""Jira's issue webhooks.

An admin webhook registered with a secret signs the raw body the way
WebSub does::

    X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>
    {"timestamp": 1764583200000, "webhookEvent": "jira:issue_updated",
     "issue": {"key": "OPS-12",
               "fields": {"project": {"key": "OPS"},
                          "status": {"statusCategory": {"key": "done"}},
                          "updated": "2026-12-01T10:00:00.000+0000"}}}

See https://developer.atlassian.com/cloud/jira/platform/webhooks/ ("Secure
admin webhooks").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from fixtrail.integrations.base import TicketChange, hmac_sha256_matches, parse_time
from fixtrail.integrations.jira.client import status_state

EVENTS = ("jira:issue_updated", "jira:issue_created")


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether ``X-Hub-Signature`` is the body's HMAC with the secret."""
    return hmac_sha256_matches(secret, body, headers.get("X-Hub-Signature", ""))


def parse(headers: Mapping[str, str], payload: dict, target: str) -> list[TicketChange]:
    """Return the state an issue event reports for ``target``'s issues."""
    if payload.get("webhookEvent") not in EVENTS:
        return []
    issue = payload.get("issue") or {}
    fields = issue.get("fields") or {}
    key = str(issue.get("key") or "")
    project = str((fields.get("project") or {}).get("key") or key.split("-")[0])
    if not key or project.upper() != target.upper():
        return []
    at = parse_time(fields.get("updated"))
    stamp = payload.get("timestamp")
    if at is None and isinstance(stamp, int):
        at = dt.datetime.fromtimestamp(stamp / 1000, dt.UTC)
    if at is None:
        return []
    return [
        TicketChange(
            external_id=key,
            state=status_state(fields.get("status")),
            at=at,
            title=str(fields.get("summary") or ""),
        )
    ]
