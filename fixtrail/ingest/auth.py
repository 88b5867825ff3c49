"""Find the DSN public key in a request, wherever the SDK put it.

SDKs authenticate in one of four places, and a request may use several:

    X-Sentry-Auth: Sentry sentry_key=0123...cdef, sentry_version=7,
        sentry_client=sentry.python/2.75.0
    Authorization: Sentry sentry_key=0123...cdef, sentry_version=7
    POST /api/1/envelope/?sentry_key=0123...cdef&sentry_version=7
    {"dsn":"https://0123...cdef@errors.example.com/1", ...}   (envelope header)

Every place that names a key must name the same one; two different keys in
one request are a client bug and answer 400 rather than picking one. The
``Sentry`` prefix is matched case-insensitively and may be missing; values may
be quoted. The secret key that old SDKs also send is ignored, as Sentry does.

Protocol reference, pinned:
https://github.com/getsentry/sentry-docs/blob/c6d0a87a79b457d24947a50e90d8c98040755a51/develop-docs/sdk/data-model/envelopes.mdx
(section "Authentication").
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fixtrail.ingest.exceptions import BadRequest

# A public key is 32 hex characters; anything much longer is not a key and
# should not reach the database or the key cache.
MAX_KEY_LENGTH = 64

# Query strings on ingest URLs carry two or three parameters; the bound keeps
# a hostile URL from costing a large parse.
MAX_QUERY_FIELDS = 32

# The auth header holds four or five short pairs.
MAX_AUTH_HEADER_LENGTH = 1024


def parse_auth_header(value: str) -> dict[str, str]:
    """Return the ``name=value`` pairs of an ``X-Sentry-Auth`` or
    ``Authorization: Sentry`` header as a dict.

    Returns an empty dict for a header of another scheme (``Bearer ...``),
    so a proxy's own authorization never reads as a Sentry key.
    """
    text = value.strip()[:MAX_AUTH_HEADER_LENGTH]
    words = text.split(maxsplit=1)
    if not words:
        return {}
    if words[0].lower() == "sentry":
        text = words[1] if len(words) == 2 else ""
    elif "=" not in words[0]:
        return {}
    pairs: dict[str, str] = {}
    for part in text.split(","):
        name, sep, field = part.partition("=")
        if sep:
            pairs[name.strip().lower()] = field.strip().strip('"')
    return pairs


def key_from_dsn(dsn: str) -> str | None:
    """Return the public key (the user part) of a DSN, or None if it has none."""
    try:
        username = urlsplit(dsn.strip()).username
    except ValueError:
        raise BadRequest("envelope dsn is not a valid URL") from None
    return username or None


def find_public_key(
    x_sentry_auth: str | None,
    authorization: str | None,
    query_string: str,
    envelope_dsn: str | None = None,
) -> str | None:
    """Return the one public key a request names, or None if it names none.

    Raises BadRequest when two places name different keys, or when a key is
    implausibly long.
    """
    found: list[tuple[str, str]] = []
    if x_sentry_auth:
        _add(found, "X-Sentry-Auth", parse_auth_header(x_sentry_auth).get("sentry_key"))
    if authorization:
        _add(found, "Authorization", parse_auth_header(authorization).get("sentry_key"))
    if query_string and "sentry_key" in query_string:
        try:
            params = parse_qsl(query_string, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            raise BadRequest("query string has too many parameters") from None
        for name, value in params:
            if name == "sentry_key":
                _add(found, "the sentry_key parameter", value)
    if envelope_dsn:
        _add(found, "the envelope dsn", key_from_dsn(envelope_dsn))
    if not found:
        return None
    first_place, key = found[0]
    for place, other in found[1:]:
        if other != key:
            raise BadRequest(f"{first_place} and {place} name different keys")
    return key


def _add(found: list[tuple[str, str]], place: str, key: str | None) -> None:
    if not key:
        return
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"the key in {place} is longer than {MAX_KEY_LENGTH} characters"
        )
    found.append((place, key))
