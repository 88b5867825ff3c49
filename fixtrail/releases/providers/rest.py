"""What the GitLab and GitHub clients share: one checked HTTP call that
turns the host's answer into data or a ProviderError, and bounded paging.

    answer = call("GitLab", "GET", url, headers={"PRIVATE-TOKEN": token})
    for page in pages("GitLab", url, headers=..., params={"per_page": "100"}):
        ...

Statuses become errors a job can act on: 401, 403 and 404 are permanent
(a bad token, a token without access, a wrong project: retrying cannot
help), 429 and 5xx are retried, after the host's Retry-After when it sends
one. Everything goes through fixtrail.lib.outbound, so every URL is checked
against the operator's deny-list.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fixtrail.lib import outbound
from fixtrail.releases.providers.base import ProviderError

if TYPE_CHECKING:
    import httpx

# Pages read from one listing at most. GitLab and GitHub serve up to 100
# items a page, so a listing is cut at a few hundred items: enough for the
# commits of one release, and a bound on the calls one job makes.
MAX_PAGES = 5
# A Retry-After longer than the job runner's longest backoff is cut to it,
# so a host that asks for a day is still tried within the hour.
MAX_RETRY_AFTER = dt.timedelta(hours=1)
# Longest part of an error body quoted in a message (hosts answer with whole
# HTML pages behind proxies).
MAX_ERROR_BODY_CHARS = 300


class ProviderUnavailable(ProviderError):
    """The host asked to wait (429, 5xx) or did not answer; try again after
    ``retry_after`` when it said, else with the job's backoff."""

    def __init__(self, message: str, retry_after: dt.timedelta | None = None) -> None:
        super().__init__(message, permanent=False)
        self.retry_after = retry_after


class ProviderRefused(ProviderError):
    """The host refused the request for good (401, 403, 404, other 4xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, permanent=True)
        self.status = status


def retry_after(headers: httpx.Headers, now: dt.datetime) -> dt.timedelta | None:
    """Return how long the host asked to wait, or None when it did not say.

    Reads ``Retry-After`` (seconds or an HTTP date, RFC 9110 §10.2.3) and,
    failing that, GitHub's ``X-RateLimit-Reset`` (epoch seconds) when
    ``X-RateLimit-Remaining`` is 0. The wait is at least a second and at
    most MAX_RETRY_AFTER.
    """
    wait = None
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value))
    elif value:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None and moment.tzinfo is not None:
            wait = moment - now
    elif headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            wait = dt.datetime.fromtimestamp(int(reset), dt.UTC) - now
    if wait is None:
        return None
    return min(max(wait, dt.timedelta(seconds=1)), MAX_RETRY_AFTER)


def _excerpt(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:MAX_ERROR_BODY_CHARS]
    if isinstance(data, dict):
        message = data.get("message") or data.get("error") or ""
        return str(message)[:MAX_ERROR_BODY_CHARS]
    return str(data)[:MAX_ERROR_BODY_CHARS]


def error_for(service: str, response: httpx.Response, what: str) -> ProviderError:
    """Return the error for an unsuccessful ``response`` about ``what``
    (e.g. "project group/app")."""
    status = response.status_code
    said = _excerpt(response)
    # "(HTTP 404: 404 Project Not Found)": the status, then the host's words.
    detail = f"(HTTP {status}: {said})" if said else f"(HTTP {status})"
    now = dt.datetime.now(dt.UTC)
    # GitHub answers a spent rate limit with 403 and X-RateLimit-Remaining 0:
    # that is a wait, not a refusal.
    limited = status == 403 and response.headers.get("x-ratelimit-remaining") == "0"
    if status == 429 or limited or status >= 500:
        reason = "rate limit reached" if status in (403, 429) else "server error"
        return ProviderUnavailable(
            f"{service} {reason} {detail}; will retry",
            retry_after(response.headers, now),
        )
    if status == 401:
        message = (
            f"{service} refused the access token {detail}: set a valid "
            "token on the repository"
        )
    elif status == 403:
        message = (
            f"{service} denied access to {what} {detail}: the token lacks "
            "the scope or the permission this needs"
        )
    elif status == 404:
        message = (
            f"{service} has no {what} {detail}: check the repository URL, "
            "and that the token can see it"
        )
    else:
        message = f"{service} refused the request for {what} {detail}"
    return ProviderRefused(message, status)


def call(
    service: str,
    method: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
    json: object = None,
) -> httpx.Response:
    """Send one request and return its successful (2xx) response.

    Raises ProviderError for a refusal, ProviderUnavailable for a wait or
    no answer, and a permanent ProviderError for a URL the deny-list blocks.
    """
    try:
        response = outbound.request(
            method, url, headers=headers, params=params, json=json
        )
    except outbound.OutboundError as exc:
        if exc.permanent:
            raise ProviderError(f"{service}: {exc.message}", permanent=True) from None
        raise ProviderUnavailable(f"{service}: {exc.message}; will retry") from None
    if not response.is_success:
        raise error_for(service, response, what)
    return response


def json_of(service: str, response: httpx.Response) -> object:
    """Return the response's JSON; a body that is not JSON is an error
    worth retrying (a proxy's error page with status 200)."""
    try:
        return response.json()
    except ValueError:
        raise ProviderUnavailable(
            f"{service} answered with something that is not JSON; will retry"
        ) from None


def pages(
    service: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[object]:
    """Yield the JSON of each page of a listing, following ``Link: <…>;
    rel="next"`` (GitLab and GitHub both send it) for at most ``max_pages``.

    A next link to another origin than ``url`` is not followed: the token
    goes only to the host the repository names.
    """
    origin = urlsplit(url)[:2]
    for _ in range(max_pages):
        response = call(service, "GET", url, what=what, headers=headers, params=params)
        yield json_of(service, response)
        following = response.links.get("next", {}).get("url")
        if not following or urlsplit(following)[:2] != origin:
            return
        # The next link carries every parameter already.
        url, params = following, None
