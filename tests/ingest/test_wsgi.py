from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from fixtrail.ingest.wsgi import wrap
from tests.ingest.conftest import auth_header, event_envelope
from tests.servers import COMMAND_TIMEOUT_SECONDS


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


# Probes -------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/_health", "ok"), ("/_ready", "ok")])
def test_it_answers_the_probes_itself(wsgi_sdk, path, status):
    answer = wsgi_sdk.request("GET", path)
    assert answer.status == 200
    assert answer.json()["status"] == status
    assert answer.headers["content-type"] == "application/json"
    assert "no-store" in answer.headers["cache-control"]


def test_it_answers_readiness_with_what_django_answers(wsgi_sdk, client):
    lean = wsgi_sdk.request("GET", "/_ready").json()
    django = client.get("/_ready").json()
    assert lean.keys() == django.keys()
    assert (lean["missing"], lean["status"]) == (django["missing"], django["status"])


def test_it_says_not_ready_without_the_queue(wsgi_sdk, settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    answer = wsgi_sdk.request("GET", "/_ready")
    assert answer.status == 503
    assert answer.json()["missing"] == ["queue"]


def test_it_answers_head_without_a_body(wsgi_sdk):
    answer = wsgi_sdk.request("HEAD", "/_health")
    assert (answer.status, answer.body) == (200, b"")


def test_it_leaves_other_methods_on_the_probes_to_django(wsgi_sdk):
    # Django's middleware answers: here its CSRF check refuses, with the
    # styled HTML error page rather than the probe's JSON.
    answer = wsgi_sdk.request("POST", "/_ready")
    assert answer.status == 403
    assert answer.headers["content-type"].startswith("text/html")


_PROBE_ONLY = """
import io, json, sys
from fixtrail.wsgi import application
seen = {}
def start_response(status, headers, exc_info=None):
    seen["status"] = status
body = b"".join(application({"REQUEST_METHOD": "GET", "PATH_INFO": "/_ready",
    "wsgi.input": io.BytesIO(), "SERVER_NAME": "x", "SERVER_PORT": "80",
    "wsgi.url_scheme": "http"}, start_response))
print(json.dumps({"status": seen["status"], "body": json.loads(body),
                  "urlconf_loaded": "fixtrail.urls" in sys.modules}))
"""


def test_a_web_process_that_only_answers_probes_never_loads_the_views(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env.update(
        DJANGO_SETTINGS_MODULE="fixtrail.settings", FIXTRAIL_DATA_DIR=str(tmp_path)
    )
    subprocess.run(
        [sys.executable, "-m", "fixtrail.cli", "manage", "migrate", "-v", "0"],
        env=env, check=True, timeout=COMMAND_TIMEOUT_SECONDS,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", _PROBE_ONLY],
        env=env, check=True, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    ).stdout  # fmt: skip
    answer = json.loads(out)
    assert answer["status"].startswith("200")
    assert answer["body"]["status"] == "ok"
    # The URL configuration (every view, the API schemas) costs about 25 MB.
    assert answer["urlconf_loaded"] is False
