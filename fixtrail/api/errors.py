"""Errors of the web API and the one place they become HTTP answers.

Every error is Sentry's shape, a JSON object with a ``detail`` string::

    HTTP/1.1 404 Not Found
    {"detail": "The requested resource does not exist"}

so tools written against Sentry print the message instead of failing to
parse the body. "Not found" and "not yours" are the same 404.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from fixtrail.issues.actions import IssueActionError
from fixtrail.issues.search import SearchError

if TYPE_CHECKING:
    from ninja import NinjaAPI

NOT_FOUND = "The requested resource does not exist"
NO_CREDENTIALS = "Authentication credentials were not provided."
FORBIDDEN = "You do not have permission to perform this action."


class ApiError(HttpError):
    """An answer other than success, with its status and message."""


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class InvalidToken(ApiError):
    def __init__(self) -> None:
        super().__init__(401, "Invalid token")


class MissingScope(ApiError):
    def __init__(self, scope: str) -> None:
        super().__init__(403, f"{FORBIDDEN} This needs a token with the {scope} scope.")
        self.scope = scope


class RateLimited(ApiError):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            429,
            f"You are attempting to use this endpoint too frequently. "
            f"Limit is {limit} requests in 60 seconds",
        )
        self.retry_after = retry_after


def _detail(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str
) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


def _validation_message(exc: ValidationError) -> str:
    # ninja reports [{"loc": ["query", "limit"], "msg": "...", ...}]; the
    # first problem, named by its parameter, is what a person needs.
    first = exc.errors[0] if exc.errors else {}
    location = [
        str(part)
        for part in first.get("loc", ())
        if part not in ("body", "query", "path")
    ]
    name = ".".join(location) or "request"
    return f"Invalid value for {name}: {first.get('msg', 'not valid')}"


def has_nul(request: HttpRequest) -> bool:
    """Return True when the path, a parameter or the body holds a NUL.

    PostgreSQL refuses NUL in text, so such a value would fail deep in a
    query; no real client sends one.
    """
    if "\x00" in request.path:
        return True
    if any("\x00" in value for _, values in request.GET.lists() for value in values):
        return True
    if request.content_type == "multipart/form-data":
        # Uploaded files (sentry-cli's gzip chunks) are binary, and reading
        # the body here would hold all of it in memory.
        return False
    body = request.body if request.method in ("POST", "PUT", "PATCH") else b""
    return b"\x00" in body or b"\\u0000" in body


def install_error_handlers(api: NinjaAPI) -> None:
    """Make every error of ``api`` a ``{"detail": ...}`` answer, and refuse
    requests carrying NUL characters before any view sees them."""

    def refuse_nul(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if has_nul(request):
                return _detail(api, request, 400, "Text cannot contain NUL characters.")
            return run(request, *args, **kwargs)

        return guarded

    api.add_decorator(refuse_nul, mode="view")

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 404, NOT_FOUND)

    def forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 403, str(exc) or FORBIDDEN)

    def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        response = _detail(api, request, 401, NO_CREDENTIALS)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        response = _detail(api, request, exc.status_code, exc.message)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _detail(api, request, 400, _validation_message(exc))

    def domain_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _detail(api, request, 400, str(exc))

    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(HttpError, http_error)
    # ninja picks the handler of the closest class in the exception's MRO,
    # so this one wins over HttpError's for a missing or unknown scheme.
    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(ValidationError, invalid)
    api.add_exception_handler(IssueActionError, domain_error)
    api.add_exception_handler(SearchError, domain_error)
