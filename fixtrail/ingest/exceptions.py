"""The errors an SDK request can end in.

Every ingest module raises one of these, each carrying a message meant for the
person reading the SDK's debug log. The endpoint code turns them into HTTP in
one place (:func:`fixtrail.ingest.endpoints.error_response`), as a JSON
``{"detail": message}`` body plus an ``X-Sentry-Error`` header.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class: a request that cannot be accepted, with its HTTP status."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(IngestError):
    """The body or the headers are malformed (400)."""

    status = 400


class Unauthorized(IngestError):
    """No key, or a key that does not exist (401)."""

    status = 401


class Forbidden(IngestError):
    """The key exists but is disabled, or the origin is not allowed (403)."""

    status = 403


class NotFound(IngestError):
    """The project in the URL is unknown, or the key is not one of its keys (404).

    Both cases answer the same, so nobody can probe which projects exist.
    """

    status = 404


class TooLarge(IngestError):
    """A size limit was crossed: request, decompressed body, event or attachment
    (413)."""

    status = 413


class RateLimited(IngestError):
    """A rate limit or quota is exhausted (429).

    ``retry_after`` is whole seconds until the limiting window ends,
    ``scope`` is the scope named in ``X-Sentry-Rate-Limits`` (``key``,
    ``project`` or ``organization`` for the instance-wide limit) and
    ``reason`` its reason code.
    """

    status = 429

    def __init__(self, message: str, retry_after: int, scope: str, reason: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope
        self.reason = reason


class Unavailable(IngestError):
    """The queue cannot take the items right now; the SDK should retry (503)."""

    status = 503
