"""Read an organization through Sentry's web API (``/api/0/``).

The same calls answer on sentry.io, a self-hosted Sentry, GlitchTip and
Fixtrail. Lists are paged with a ``Link`` header; the next page is the URL
whose ``rel="next"`` entry says ``results="true"``::

    Link: <https://sentry.example.com/api/0/organizations/acme/projects/?cursor=0:0:1>;
          rel="previous"; results="false"; cursor="0:0:1",
          <https://sentry.example.com/api/0/organizations/acme/projects/?cursor=0:100:0>;
          rel="next"; results="true"; cursor="0:100:0"

Reference, pinned:
https://github.com/getsentry/sentry-docs/blob/c6d0a87a79b457d24947a50e90d8c98040755a51/docs/api/pagination.mdx

Every call goes through fixtrail.lib.outbound; 429 and 5xx answers are
retried with back-off (honouring ``Retry-After``). The token lives only in
this object, never in the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from fixtrail.lib import outbound

# Attempts per request: one plus four retries covers a rate limiter's
# one-minute window at BACKOFF_SECONDS doubling (0.5+1+2+4 s) or a short
# Retry-After.
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 0.5
# A Retry-After longer than this is a server asking to come back much later:
# waiting inside one import would look like a hang.
MAX_RETRY_AFTER_SECONDS = 60.0
# Guards against a server whose Link header never stops saying "next".
MAX_PAGES = 1000

_LINK_PART = re.compile(r"<([^>]*)>((?:\s*;\s*[a-z]+=\"[^\"]*\")*)")
_LINK_PARAM = re.compile(r'([a-z]+)="([^"]*)"')


class SourceError(Exception):
    """The source server refused or failed a call; ``message`` says which."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def next_page(link_header: str) -> str | None:
    """Return the URL of the next page from a ``Link`` header, or None when
    there are no more results."""
    for match in _LINK_PART.finditer(link_header or ""):
        params = dict(_LINK_PARAM.findall(match.group(2)))
        if params.get("rel") == "next" and params.get("results") == "true":
            return match.group(1)
    return None


class SentryAPI:
    """A token-authenticated reader of one server's ``/api/0/``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = url.rstrip("/")
        if self.base.endswith("/api/0"):
            self.base = self.base[: -len("/api/0")]
        self._token = token
        self._sleep = sleep
        self.retries = 0

    def get(self, path: str) -> Any:
        """Return the JSON of one ``GET /api/0/<path>``; raise SourceError."""
        response = self._get(f"{self.base}/api/0/{path.lstrip('/')}")
        return response.json()

    def get_or_none(self, path: str) -> Any:
        """Like get, but return None when the source does not serve ``path``
        (404, or 405 for a method it lacks)."""
        try:
            return self.get(path)
        except SourceError as exc:
            if exc.status in (404, 405):
                return None
            raise

    def pages(self, path: str) -> Iterator[dict]:
        """Yield every row of a paged list, following the Link header."""
        url: str | None = f"{self.base}/api/0/{path.lstrip('/')}"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._get(url)
            rows = response.json()
            if not isinstance(rows, list):
                raise SourceError(f"{_path(url)} did not answer with a list")
            yield from rows
            url = next_page(response.headers.get("link", ""))
            if url is not None and urlsplit(url).netloc != urlsplit(self.base).netloc:
                # The token must not go to another host, whatever the
                # header says.
                raise SourceError(f"{_path(url)}: next page is on another host")
        raise SourceError(f"{path} has more than {MAX_PAGES} pages")

    def _get(self, url: str) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = outbound.request("GET", url, headers=headers)
            except outbound.OutboundError as exc:
                if exc.permanent or attempt == MAX_ATTEMPTS - 1:
                    raise SourceError(exc.message) from None
                self._wait(attempt, None)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == MAX_ATTEMPTS - 1:
                    break
                self._wait(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code in (401, 403):
                raise SourceError(
                    f"{_path(url)}: the token was refused ({response.status_code})",
                    response.status_code,
                )
            if response.status_code != 200:
                raise SourceError(
                    f"{_path(url)} answered {response.status_code}",
                    response.status_code,
                )
            return response
        raise SourceError(
            f"{_path(url)} still answered {response.status_code} "
            f"after {MAX_ATTEMPTS} attempts",
            response.status_code,
        )

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        delay = BACKOFF_SECONDS * 2**attempt
        # An HTTP-date Retry-After keeps the doubling back-off, which is
        # close enough.
        if retry_after and retry_after.strip().replace(".", "", 1).isdigit():
            delay = min(float(retry_after), MAX_RETRY_AFTER_SECONDS)
        self._sleep(delay)


def _path(url: str) -> str:
    return urlsplit(url).path
