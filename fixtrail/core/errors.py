"""The answers for errors Django raises outside any view: 403, 404, 500
and a failed CSRF check.

Everything under ``/api/`` answers in the web API's shape (see
fixtrail.api.errors), whatever went wrong and whoever raised it, because
tools such as sentry-cli print ``detail`` and cannot read an HTML page.
A browser gets a page with the navigation and a way back.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

API_PREFIX = "/api/"
# The one HTML page under /api/: the crash-report dialog, whose URL the
# Sentry SDKs build from the DSN and whose form errors a person reads.
EMBED_PREFIX = "/api/embed/"

# The API's messages, in the words Sentry's web API uses for each status.
_API_DETAIL = {
    400: "Bad request",
    403: "You do not have permission to perform this action.",
    404: "The requested resource does not exist",
    405: "Method not allowed",
    500: "Internal error",
}
_CSRF_DETAIL = (
    "CSRF verification failed: send an Authorization: Bearer <token> header "
    "instead of a session cookie."
)


def is_api(request: HttpRequest) -> bool:
    """Return True when ``request`` is for the web API (or an SDK endpoint)."""
    path = request.path
    return path.startswith(API_PREFIX) and not path.startswith(EMBED_PREFIX)


def api_error(status: int, detail: str | None = None) -> JsonResponse:
    """Return the API's ``{"detail": ...}`` answer for ``status``."""
    message = detail or _API_DETAIL.get(status, "Error")
    return JsonResponse({"detail": message}, status=status)


def _page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    # render_to_string with the request: the page carries the navigation of
    # whoever is logged in. A 500 page must not query the database again
    # (it may be the reason for the error), so it gets no request.
    body = render_to_string(
        "core/error.html",
        {"status": status, "title": title, "text": text},
        request=request if status != 500 else None,
    )
    return HttpResponse(body, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 403: the API's JSON or a page saying what is missing."""
    if is_api(request):
        return api_error(403, str(exception) or None)
    return _page(
        request,
        403,
        "You cannot do that here",
        "Your role in this organization does not allow it. "
        "An owner or admin of the organization can change your role.",
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 404: the API's JSON or a page with a way back."""
    if is_api(request):
        return api_error(404)
    return _page(
        request,
        404,
        "Page not found",
        "There is nothing at this address, or it belongs to an organization "
        "you are not a member of.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer 500 without touching the database."""
    if is_api(request):
        return api_error(500)
    return _page(
        request,
        500,
        "Something went wrong",
        "The error is in the server's log. Try again in a moment.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a failed CSRF check (Django's CSRF_FAILURE_VIEW)."""
    if is_api(request):
        return api_error(403, _CSRF_DETAIL)
    return _page(
        request,
        403,
        "This form has expired",
        "The page was open too long or cookies are blocked. "
        "Go back, reload the page and send the form again.",
    )


def api_errors_as_json(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: turn any error under /api/ that is not JSON into JSON.

    django-ninja answers a wrong method with a plain-text 405; this keeps
    its status and Allow header but gives the body the API's shape.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = api_error(response.status_code)
            if response.status_code == 405:
                replacement = api_error(405, f'Method "{request.method}" not allowed.')
                replacement["Allow"] = response.get("Allow", "")
            for header in ("Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    return middleware
