"""Run side by side: what a project accepts is sent on, unchanged, to another
Sentry-compatible server (a real HTTP receiver here), as a job."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pytest
import sentry_sdk
from django.core.management import call_command
from sentry_sdk.transport import Transport

from fixtrail.adoption import forwarding
from fixtrail.adoption.models import ForwardEnvelope
from fixtrail.ingest.keys import forget_keys
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from tests.digest.queueing import digest_queued

PAGE = "/organizations/acme/projects/backend/forwarding/"


def _sdk_envelope(project_key) -> tuple[str, bytes]:
    """One error envelope as the real Python SDK serializes it."""
    kept: list[bytes] = []

    class Keeping(Transport):
        def capture_envelope(self, envelope) -> None:
            kept.append(envelope.serialize())

    client = sentry_sdk.Client(
        dsn=project_key.dsn, transport=Keeping, default_integrations=False
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            {}["missing"]
        except KeyError:
            event_id = sentry_sdk.capture_exception()
    client.close()
    return event_id, kept[0]


def _auth(project_key) -> str:
    return f"Sentry sentry_version=7, sentry_key={project_key.public_key}"


def _post_envelope(client, project_key, body: bytes):
    return client.post(
        f"/api/{project_key.project_id}/envelope/",
        data=gzip.compress(body),
        content_type="application/x-sentry-envelope",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_X_SENTRY_AUTH=_auth(project_key),
    )


@pytest.fixture
def forwarded(project, receiver):
    """The project forwards to the receiver, as project 99 there."""
    forwarding.set_forwarding(project, f"{receiver.url.replace('//', '//k3y@')}/99")
    # Ingest caches what it knows of a key for half a minute.
    forget_keys()
    return project


def test_it_forwards_the_envelope_it_accepted_unchanged(
    forwarded, project_key, client, receiver
):
    event_id, body = _sdk_envelope(project_key)
    assert _post_envelope(client, project_key, body).status_code == 200
    digest_queued()
    runner.run_until_idle()
    [request] = receiver.requests
    assert request.path == "/api/99/envelope/"
    assert request.body == body
    assert "sentry_key=k3y" in request.headers["X-Sentry-Auth"]
    assert request.headers["Content-Type"] == "application/x-sentry-envelope"
    status = forwarding.status(forwarded)
    assert (status["forwarded"], status["waiting"], status["failed"]) == (1, 0, 0)
    # The event is Fixtrail's too.
    assert forwarded.issues.get().events.get().event_id == event_id


def test_it_wraps_a_store_event_in_an_envelope(
    forwarded, project_key, client, receiver
):
    event = {"event_id": "a" * 32, "message": "from /store/", "platform": "python"}
    response = client.post(
        f"/api/{project_key.project_id}/store/",
        data=json.dumps(event),
        content_type="application/json",
        HTTP_X_SENTRY_AUTH=_auth(project_key),
    )
    assert response.status_code == 200
    digest_queued()
    runner.run_until_idle()
    [request] = receiver.requests
    header, item, payload = request.body.rstrip(b"\n").split(b"\n")
    assert json.loads(header) == {"event_id": "a" * 32}
    assert json.loads(item) == {"type": "event", "length": len(payload)}
    assert json.loads(payload) == event


def test_it_retries_while_the_other_server_is_down(
    forwarded, project_key, client, receiver
):
    receiver.statuses = [503]
    _post_envelope(client, project_key, _sdk_envelope(project_key)[1])
    digest_queued()
    runner.run_until_idle()
    status = forwarding.status(forwarded)
    assert (status["forwarded"], status["waiting"]) == (0, 1)
    assert "answered 503" in status["last_error"]
    job = Job.objects.get(kind=forwarding.FORWARD)
    assert job.state == Job.State.PENDING and job.attempts == 1
    runner.retry_now(job)
    runner.run_until_idle()
    assert len(receiver.requests) == 2
    status = forwarding.status(forwarded)
    assert (status["forwarded"], status["waiting"], status["failed"]) == (1, 0, 0)


def test_it_counts_an_envelope_the_other_server_refuses(
    forwarded, project_key, client, receiver
):
    receiver.statuses = [403]
    _post_envelope(client, project_key, _sdk_envelope(project_key)[1])
    digest_queued()
    runner.run_until_idle()
    status = forwarding.status(forwarded)
    assert (status["forwarded"], status["failed"], status["waiting"]) == (0, 1, 0)
    assert "answered 403" in status["last_error"]


def test_it_counts_but_does_not_send_an_envelope_over_the_limit(
    forwarded, project_key, client, receiver, settings
):
    settings.FORWARD_MAX_BYTES = 100
    _post_envelope(client, project_key, _sdk_envelope(project_key)[1])
    digest_queued()
    runner.run_until_idle()
    assert receiver.requests == []
    assert forwarding.status(forwarded)["skipped"] == 1


def test_it_keeps_an_envelope_digested_twice_once(forwarded):
    at = forwarded.created_at
    assert forwarding.store_forwards([(forwarded.pk, at, b"{}\n")], {}) == 1
    forwarding.store_forwards([(forwarded.pk, at, b"{}\n")], {})
    assert ForwardEnvelope.objects.count() == 1
    assert Job.objects.filter(kind=forwarding.FORWARD).count() == 1


def test_a_project_without_forwarding_sends_nothing(
    project, project_key, client, receiver
):
    _post_envelope(client, project_key, _sdk_envelope(project_key)[1])
    digest_queued()
    runner.run_until_idle()
    assert receiver.requests == []
    assert ForwardEnvelope.objects.count() == 0


def _forward_command(*args: str) -> dict:
    out = StringIO()
    call_command("forward", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_turns_forwarding_on_shows_it_and_off(project):
    shown = _forward_command(
        "--project", "acme/backend", "--to", "https://key@o1.ingest.sentry.io/5"
    )
    assert shown["forwarding"]["to"] == "https://o1.ingest.sentry.io/api/5"
    assert "key@" not in json.dumps(shown)
    assert _forward_command("--project", "acme/backend")["forwarding"]["forwarded"] == 0
    assert _forward_command("--project", "acme/backend", "--off")["stopped"] is True
    assert forwarding.status(project) is None


def test_the_command_refuses_a_bad_dsn(project):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="project id"):
        _forward_command("--project", "acme/backend", "--to", "https://k@x.org/a")


def test_admins_set_and_stop_forwarding_on_the_page(project, alice_client):
    assert alice_client.get(PAGE).status_code == 200
    response = alice_client.post(PAGE, {"dsn": "https://k@x.example/abc"})
    assert "must end with the project id" in response.content.decode()
    response = alice_client.post(PAGE, {"dsn": "https://k@x.example/7"}, follow=True)
    page = response.content.decode()
    assert "Forwarding to" in page and "https://x.example/api/7" in page
    assert "k@x.example" not in page
    alice_client.post(PAGE, {"stop": "1"})
    assert forwarding.status(project) is None


def test_members_cannot_change_forwarding(project, bob, client):
    client.force_login(bob)
    assert client.get(PAGE).status_code == 403
