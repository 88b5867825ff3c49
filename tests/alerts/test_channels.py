"""Chat services through apprise, against local receivers speaking their
formats, and the URL checks of self-hosted targets."""

from __future__ import annotations

import pytest

from fixtrail.alerts import channels, triggers
from fixtrail.alerts.evaluate import evaluate
from fixtrail.alerts.rules import parse_action, save_rule
from fixtrail.issues.models import Issue
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.lib.outbound import parse_networks
from tests.alerts.conftest import NOW, T0
from tests.digest.queueing import digest_queued, python_error, queue_payloads


def _only_rule(project, to):
    project.alert_rules.all().delete()
    return save_rule(
        project,
        name="Chat",
        when=triggers.When(("new",)),
        add_actions=[parse_action(to)],
    ).rule


def _new_issue(project):
    queue_payloads(project, [python_error(release="2.4.1")], received_at=T0)
    digest_queued(NOW)
    evaluate(NOW)
    runner.run_until_idle()
    return Issue.objects.get()


def test_it_posts_to_a_generic_json_receiver(project, cursors, receiver):
    host = receiver.url.removeprefix("http://")
    _only_rule(project, f"apprise:json://{host}/chat")
    issue = _new_issue(project)
    (request,) = receiver.requests
    assert request.path == "/chat"
    body = request.json()
    assert body["title"] == f"New issue: {issue.short_id_display}"
    assert body["message"].splitlines() == [
        f"**{issue.title}**",
        "1 events, 0 users, since release 2.4.1",
        "Project Backend · shop.cart in parse_quantity",
        f"http://127.0.0.1:8000/issues/{issue.pk}/",
    ]


def test_it_posts_to_mattermost(project, cursors, receiver):
    host = receiver.url.removeprefix("http://")
    _only_rule(project, f"apprise:mmost://{host}/hooktoken")
    issue = _new_issue(project)
    (request,) = receiver.requests
    # Mattermost's incoming webhooks: POST /hooks/<token> with {"text": ...}.
    assert request.path == "/hooks/hooktoken"
    body = request.json()
    assert issue.short_id_display in body["text"]
    assert f"http://127.0.0.1:8000/issues/{issue.pk}/" in body["text"]


def test_it_keeps_the_chat_service_error_on_the_job(project, cursors, receiver):
    host = receiver.url.removeprefix("http://")
    rule = _only_rule(project, f"apprise:json://{host}/chat")
    receiver.statuses = [500]
    _new_issue(project)
    job = Job.objects.get(owner=rule.job_owner)
    assert job.state == Job.State.PENDING
    assert job.last_error == (
        "the chat service refused the message: Failed to send JSON POST "
        "notification: Internal server error., error=500."
    )


def test_it_refuses_a_self_hosted_chat_url_in_a_denied_network(settings):
    settings.OUTBOUND_DENY_NETWORKS = parse_networks("loopback")
    with pytest.raises(channels.ChannelError, match="a denied network") as caught:
        channels.check_apprise_url("json://127.0.0.1:9/chat")
    assert caught.value.permanent is True


def test_it_signs_the_exact_body():
    assert channels.sign(b'{"a":1}', "s3cret") == (
        "sha256=" + "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"
    )
