"""Django views for the SDK endpoints.

The same work as fixtrail.ingest.wsgi, reached through Django's URL resolver
and middleware: useful where the lean WSGI path is not installed (tests with
Django's live server, other WSGI servers). One difference: Django reads no
body without a Content-Length, so chunked uploads only work through the lean
path.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from fixtrail.ingest.endpoints import IngestRequest, handle_ingest


@csrf_exempt
def sdk_endpoint(request: HttpRequest, project_id: str, endpoint: str) -> HttpResponse:
    """Answer an SDK request on ``/api/<project_id>/<endpoint>/``."""
    meta = request.META
    try:
        content_length: int | None = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        content_length = 0
    response = handle_ingest(
        IngestRequest(
            method=request.method or "GET",
            endpoint=endpoint,
            project_id=int(project_id),
            headers=request.headers,
            query_string=meta.get("QUERY_STRING", ""),
            body=request,
            content_length=content_length,
            client_ip=meta.get("REMOTE_ADDR"),
        )
    )
    django_response = HttpResponse(response.body, status=response.status)
    for name, value in response.headers:
        django_response[name] = value
    return django_response
