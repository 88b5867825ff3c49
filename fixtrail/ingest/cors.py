"""CORS for the SDK endpoints, so browser SDKs on other origins can report.

Preflights (``OPTIONS``) are answered for any origin: they carry no key, so
the project's list cannot be checked yet, and answering them reveals
nothing. The ``POST`` that follows is checked against the project's
``allowed_origins``: one entry per line, empty for "any origin". An entry is
``*``, a full origin (``https://shop.example``, ``http://localhost:3000``),
a host name matching any scheme and port (``shop.example``), or a wildcard
host (``*.shop.example``, which matches subdomains but not the bare name).

The response exposes the headers an SDK reads to back off.
"""

from __future__ import annotations

from urllib.parse import urlsplit

EXPOSED_HEADERS = "x-sentry-error, x-sentry-rate-limits, retry-after"
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = (
    "x-sentry-auth, x-requested-with, origin, accept, content-type, "
    "content-encoding, authorization, sentry-trace, baggage"
)

# Long enough for any real list of request headers; a longer one is echoed
# no further than this.
MAX_REQUESTED_HEADERS_LENGTH = 1024

# Browsers cache a preflight for at most 2 h (Chromium) or 24 h (Firefox);
# one hour saves a round trip per report without pinning a mistake forever.
PREFLIGHT_MAX_AGE_SECONDS = 3600


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """Return whether ``origin`` (an Origin header value) may post events."""
    if not allowed or "*" in allowed:
        return True
    try:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    origin = origin.lower().rstrip("/")
    for entry in allowed:
        entry = entry.lower().rstrip("/")
        if "://" in entry:
            if entry == origin:
                return True
        elif entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif entry == host:
            return True
    return False


def preflight_headers(
    origin: str | None, requested: str | None
) -> list[tuple[str, str]]:
    """Return the headers of a preflight answer.

    The headers the browser asks for (``Access-Control-Request-Headers``)
    are allowed as asked, so an SDK that adds one (a tracing header, say)
    is not blocked by a list kept here.
    """
    allowed = ALLOWED_HEADERS
    if requested and len(requested) <= MAX_REQUESTED_HEADERS_LENGTH:
        allowed = requested
    return [
        ("Access-Control-Allow-Origin", origin or "*"),
        ("Access-Control-Allow-Methods", ALLOWED_METHODS),
        ("Access-Control-Allow-Headers", allowed),
        ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_SECONDS)),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ("Vary", "Origin"),
    ]


def response_headers(origin: str | None) -> list[tuple[str, str]]:
    """Return the CORS headers of an answer to a POST."""
    return [
        ("Access-Control-Allow-Origin", origin or "*"),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ("Vary", "Origin"),
    ]
