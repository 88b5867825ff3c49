"""Cursor pagination with Sentry's ``Link`` header.

A list answers one page and describes its neighbours in one header, byte for
byte in the format Sentry sends, because tools parse it with regular
expressions (GitLab: ``rel="(\\w+)";\\sresults="(\\w+)";\\scursor="(.+)"``).
One line on the wire, wrapped here::

    Link: <https://host/api/0/projects/acme/backend/issues/?query=is%3Aunresolved
    &cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1",
    <https://host/api/0/projects/acme/backend/issues/?query=is%3Aunresolved
    &cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0"

A cursor is ``value:offset:is_prev``, Sentry's three-part form. Fixtrail
pages by offset, so ``value`` is always 0 and ``offset`` is the index of the
page's first row; ``is_prev`` only says which link made it. When a request
has no other query parameters the URL reads ``...?&cursor=...``, as Sentry's
does.

Protocol reference, pinned:
https://github.com/getsentry/sentry-docs/blob/2e59ab6ba685ba182f3d75d377589c88d1df5197/docs/api/pagination.mdx
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict

from fixtrail.api.errors import BadRequest

# Sentry's own cap on a page, which its clients assume (sentry-cli asks for
# "100 issues/page").
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 100

# Deep offsets make the database skip that many rows; past a million rows
# a client should narrow its query instead.
MAX_OFFSET = 1_000_000

# A cursor is three short integers; anything longer is not one.
MAX_CURSOR_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Cursor:
    value: int
    offset: int
    is_prev: bool

    def __str__(self) -> str:
        return f"{self.value}:{self.offset}:{int(self.is_prev)}"


def parse_cursor(text: str) -> Cursor | None:
    """Return the cursor in ``text``; None for an empty one (the first page).

    Raises BadRequest for anything that is not ``int:int:0|1`` within bounds.
    """
    if not text:
        return None
    parts = text.split(":")
    if len(text) > MAX_CURSOR_LENGTH or len(parts) != 3:
        raise BadRequest("Invalid cursor parameter.")
    try:
        value, offset, is_prev = (int(part) for part in parts)
    except ValueError:
        raise BadRequest("Invalid cursor parameter.") from None
    if offset < 0 or offset > MAX_OFFSET or is_prev not in (0, 1):
        raise BadRequest("Invalid cursor parameter.")
    return Cursor(value, offset, bool(is_prev))


def parse_per_page(text: str | None, default: int = DEFAULT_PER_PAGE) -> int:
    """Return the page size asked for by ``limit`` or ``per_page``.

    Raises BadRequest for non-numbers and sizes outside 1..MAX_PER_PAGE.
    """
    if text is None or text == "":
        return default
    try:
        size = int(text)
    except ValueError:
        raise BadRequest("Invalid per_page value.") from None
    if size < 1 or size > MAX_PER_PAGE:
        raise BadRequest(f"Invalid per_page value. Cannot exceed {MAX_PER_PAGE}.")
    return size


def link_header(base_url: str, offset: int, per_page: int, has_next: bool) -> str:
    """Return the ``Link`` header for the page that starts at ``offset``.

    ``base_url`` is the absolute URL of the list with its query string minus
    ``cursor``, ending in ``?`` or in the last parameter.
    """
    previous = Cursor(0, max(offset - per_page, 0), True)
    following = Cursor(0, offset + per_page, False)
    links = [
        _link(base_url, previous, "previous", offset > 0),
        _link(base_url, following, "next", has_next),
    ]
    return ", ".join(links)


def _link(base_url: str, cursor: Cursor, rel: str, results: bool) -> str:
    flag = "true" if results else "false"
    target = f"<{base_url}&cursor={cursor}>"
    return f'{target}; rel="{rel}"; results="{flag}"; cursor="{cursor}"'


def base_url(request: HttpRequest) -> str:
    """Return the request's absolute URL with every parameter but ``cursor``."""
    params: QueryDict = request.GET.copy()
    params.pop("cursor", None)
    query = urlencode(list(params.lists()), doseq=True)
    return f"{request.build_absolute_uri(request.path)}?{query}"


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    link: str


def paginate(request: HttpRequest, rows: Sequence[Any], per_page: int) -> Page:
    """Return the page of ``rows`` the request's ``cursor`` asks for.

    ``rows`` is a sliceable sequence, usually an ordered QuerySet: one query
    fetches the page and one row more, to know whether a next page exists.
    """
    cursor = parse_cursor(request.GET.get("cursor", ""))
    offset = cursor.offset if cursor else 0
    fetched = list(rows[offset : offset + per_page + 1])
    has_next = len(fetched) > per_page
    return Page(
        fetched[:per_page], link_header(base_url(request), offset, per_page, has_next)
    )


def page_rows(
    request: HttpRequest, response: HttpResponse, rows: Sequence[Any]
) -> list[Any]:
    """Return the requested page of ``rows`` and set the ``Link`` header.

    The page size comes from ``limit`` (issue lists) or ``per_page``. A
    ``limit`` above a page is served one page at a time, as Sentry does:
    the Grafana data source asks for ``limit=10000`` and reads what comes.
    """
    limit = request.GET.get("limit")
    if limit and limit.isdigit() and int(limit) > MAX_PER_PAGE:
        limit = str(MAX_PER_PAGE)
    per_page = parse_per_page(limit or request.GET.get("per_page"))
    page = paginate(request, rows, per_page)
    response["Link"] = page.link
    return page.rows
