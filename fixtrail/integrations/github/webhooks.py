"""GitHub's ``issues`` webhook events.

GitHub signs the raw body with the webhook secret::

    X-GitHub-Event: issues
    X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
    {"action": "closed",
     "issue": {"number": 7, "state": "closed", "updated_at": "2026-12-01T10:00:00Z",
               "html_url": "https://github.com/acme/app/issues/7"},
     "repository": {"full_name": "acme/app"}}

See https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues
and https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries.
"""

from __future__ import annotations

from collections.abc import Mapping

from fixtrail.integrations.base import TicketChange, hmac_sha256_matches, parse_time


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether ``X-Hub-Signature-256`` is the body's HMAC with the secret."""
    return hmac_sha256_matches(secret, body, headers.get("X-Hub-Signature-256", ""))


def parse(headers: Mapping[str, str], payload: dict, target: str) -> list[TicketChange]:
    """Return the state change an ``issues`` event reports for ``target``'s
    issues (pull requests and other events report none)."""
    if headers.get("X-GitHub-Event", "") != "issues":
        return []
    repo = payload.get("repository") or {}
    if str(repo.get("full_name", "")).lower() != target.lower():
        return []
    issue = payload.get("issue") or {}
    at = parse_time(issue.get("updated_at"))
    if issue.get("number") is None or at is None or issue.get("pull_request"):
        return []
    return [
        TicketChange(
            external_id=str(issue["number"]),
            state="closed" if issue.get("state") == "closed" else "open",
            at=at,
            url=str(issue.get("html_url") or ""),
            title=str(issue.get("title") or ""),
        )
    ]
