"""What every tracker sub-package speaks: tickets, state changes and the
errors of a call, plus the one function that sends a tracker request.

Each tracker (``gitlab/``, ``github/``, ``jira/``) has the same modules:

- ``client.py``: ``Client(integration)`` with ``check()``, ``create()``,
  ``get()``, ``comment()``, ``set_closed()``, over the tracker's documented
  REST API through fixtrail.lib.outbound;
- ``webhooks.py``: ``verify(headers, body, secret)`` (constant time, before
  anything is parsed) and ``parse(headers, payload)`` into TicketChange;
- ``forms.py``: the connection form, which also parses ticket references.

fixtrail.integrations.registry lists them in one table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from fixtrail.lib.outbound import OutboundError, request

# Ticket titles longer than this are cut; GitLab allows 255 characters,
# GitHub 256, Jira 255.
MAX_TITLE_CHARS = 255
# Bodies longer than this are cut; GitLab's limit is 1,000,000 characters,
# GitHub's 65,536 and Jira's 32,767, so the smallest wins.
MAX_BODY_CHARS = 32_000


class TrackerError(Exception):
    """A tracker call failed, with a message fit for a page.

    ``permanent`` says that retrying cannot help (bad token, no access,
    unknown project); ``retry_after`` is the tracker's own delay, if given.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Ticket:
    """A ticket as the tracker described it."""

    external_id: str
    url: str
    state: str  # "open" or "closed"
    updated_at: dt.datetime | None
    title: str = ""


@dataclass(frozen=True)
class TicketChange:
    """A webhook's news about one ticket's state, with the tracker's time."""

    external_id: str
    state: str  # "open" or "closed"
    at: dt.datetime
    url: str = ""
    title: str = ""


def call(
    tracker: str,
    method: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str] | None = None,
    json: object = None,
    params: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> object:
    """Send one request to a tracker and return its JSON answer (None for an
    empty one).

    ``what`` names the object for error messages ("project group/app").
    Raises TrackerError: permanent for 400, 401, 403, 404 and 422 and for a
    blocked address, retryable for timeouts, 429 and 5xx.
    """
    try:
        response = request(
            method, url, headers=headers, json=json, params=params, auth=auth
        )
    except OutboundError as exc:
        raise TrackerError(exc.message, permanent=exc.permanent) from None
    status = response.status_code
    if status < 300:
        return response.json() if response.content else None
    detail = _detail(response.text)
    if status == 401:
        raise TrackerError(
            f"{tracker} rejected the credentials (401): check the token{detail}",
            permanent=True,
        )
    if status == 403:
        raise TrackerError(
            f"{tracker} denied access to {what} (403): the token lacks "
            f"permission{detail}",
            permanent=True,
        )
    if status == 404:
        raise TrackerError(
            f"{tracker} does not know {what}, or the token cannot see it (404)",
            permanent=True,
        )
    if status in (400, 422):
        raise TrackerError(
            f"{tracker} refused the request ({status}){detail}", permanent=True
        )
    retry_after = response.headers.get("retry-after", "")
    raise TrackerError(
        f"{tracker} answered {status}{detail}",
        retry_after=int(retry_after) if retry_after.isdigit() else None,
    )


def _detail(text: str) -> str:
    text = " ".join(text.split())[:300]
    return f": {text}" if text else ""


def hmac_sha256_matches(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC of body>`` (constant time)."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def parse_time(text: object) -> dt.datetime | None:
    """Parse a tracker timestamp (ISO 8601, GitLab's "2024-01-02 03:04:05
    UTC", Jira's "+0000" offsets) into an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value.endswith(" UTC"):
        value = value[:-4].replace(" ", "T") + "+00:00"
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Jira writes offsets without a colon ("+0000").
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
