from __future__ import annotations

import io

from fixtrail.ingest.wsgi import wrap
from tests.ingest.conftest import auth_header, event_envelope


def _environ(path: str, body: bytes = b"", **extra) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


def _call(app, environ):
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = headers

    body = b"".join(app(environ, start_response))
    return captured["status"], body


def test_it_hands_other_paths_to_the_wrapped_app():
    calls = []

    def django_app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return [b""]

    app = wrap(django_app)
    for path in ("/", "/api/0/projects/", "/api/1/envelope/extra", "/api/x/store/"):
        assert _call(app, _environ(path)) == ("204 No Content", b"")
    assert calls == ["/", "/api/0/projects/", "/api/1/envelope/extra", "/api/x/store/"]


def test_it_marks_the_wrapped_application():
    assert wrap(lambda environ, start_response: []).serves_sdk_endpoints is True


def test_it_reads_no_body_without_length_or_terminated_input(project_key):
    app = wrap(lambda environ, start_response: [])
    environ = _environ(
        f"/api/{project_key.project_id}/envelope/",
        event_envelope("a" * 32),
        HTTP_X_SENTRY_AUTH=auth_header(project_key.public_key)["X-Sentry-Auth"],
    )
    status, body = _call(app, environ)
    # Reading to EOF could block on a server that does not end the input.
    assert status == "400 Bad Request"
    assert body == b'{"detail":"empty envelope: expected a header line"}'


def test_it_answers_with_a_status_phrase(project_key):
    app = wrap(lambda environ, start_response: [])
    body = event_envelope("a" * 32)
    environ = _environ(
        f"/api/{project_key.project_id}/envelope",
        body,
        CONTENT_LENGTH=str(len(body)),
        HTTP_X_SENTRY_AUTH=auth_header(project_key.public_key)["X-Sentry-Auth"],
    )
    assert _call(app, environ) == ("200 OK", b'{"id":"' + b"a" * 32 + b'"}')
