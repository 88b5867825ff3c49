"""Everything in an event is attacker-controlled: these tests put markup,
event handlers and script URLs in every part of an event and check the
pages show them as text only."""

from __future__ import annotations

import re

import pytest

from fixtrail.events.models import Attachment, UserReport
from fixtrail.issues.models import Activity
from tests.issues.test_views_support import (
    error_event,
    send_event,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTE = '" onmouseover="alert(1)'
JS_URL = "javascript:alert(1)"

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"


def hostile_event() -> dict:
    event = error_event(
        release=f"1.0{SCRIPT}",
        environment="prod<b>x</b>",
        tags={"browser": IMG, "quote": QUOTE, "items": SCRIPT},
        user={
            "id": "1",
            "email": f"x{IMG}@example.org",
            "username": SCRIPT,
            "ip_address": "203.0.113.9",
        },
        request={
            "url": JS_URL,
            "method": "GET",
            "headers": {"Referer": JS_URL, "X-Evil": IMG, "User-Agent": SCRIPT},
            "data": {"comment": SCRIPT},
        },
        breadcrumbs={
            "values": [
                {
                    "timestamp": 1_700_000_000,
                    "category": IMG,
                    "message": SCRIPT,
                    "data": {"url": JS_URL, "items": IMG},
                }
            ]
        },
        extra={"items": SCRIPT, "values": IMG, "keys": QUOTE},
        contexts={"os": {"name": SCRIPT, "version": IMG}},
        sdk={"name": SCRIPT, "version": IMG},
    )
    exception = event["exception"]["values"][0]
    exception["type"] = f"Err{IMG}"
    exception["value"] = f"{SCRIPT} and {QUOTE}"
    frame = exception["stacktrace"]["frames"][1]
    frame["filename"] = f"{IMG}.py"
    frame["function"] = SCRIPT
    frame["context_line"] = IMG
    frame["pre_context"] = [SCRIPT]
    frame["vars"] = {SCRIPT: IMG, "items": SCRIPT, "nested": {"x": QUOTE}}
    return event


@pytest.fixture
def hostile(project):
    return send_event(project, hostile_event())


def _assert_inert(body: str) -> None:
    """No payload markup, handler or script URL survives unescaped."""
    assert SCRIPT not in body
    assert IMG not in body
    assert "<b>x</b>" not in body
    assert QUOTE not in body
    assert (
        re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I)
        is None
    )
    assert re.search(r"<script(?![^>]*\bsrc=\"/static/)", body) is None


def test_it_escapes_the_list(alice_client, hostile):
    response = alice_client.get("/organizations/acme/projects/backend/")
    body = response.content.decode()
    assert response.status_code == 200
    _assert_inert(body)
    assert ESCAPED_IMG in body


def test_it_escapes_every_part_of_the_issue_page(alice_client, hostile):
    issue, _ = hostile
    response = alice_client.get(f"/issues/{issue.pk}/?frames=all")
    body = response.content.decode()
    assert response.status_code == 200
    _assert_inert(body)
    # The content is still shown, as text.
    assert f'<span class="exc-type">Err{ESCAPED_IMG}</span>' in body
    assert (
        f"<tr><th>{ESCAPED_SCRIPT}</th><td><pre>{ESCAPED_IMG}</pre></td></tr>" in body
    )
    assert f"<code>{ESCAPED_IMG}</code>" in body
    assert f'<span class="crumb-cat">{ESCAPED_IMG}</span>' in body
    assert f"<pre>{ESCAPED_SCRIPT}</pre>" in body
    # A script URL is text, never a link.
    assert "<strong>GET</strong> javascript:alert(1)</p>" in body


def test_it_does_not_let_payload_keys_shadow_dict_methods(alice_client, hostile):
    issue, _ = hostile
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    # Keys named like dict methods are rows like any other.
    assert f"<tr><th>items</th><td><pre>{ESCAPED_SCRIPT}</pre></td></tr>" in body
    assert f"<tr><th>values</th><td><pre>{ESCAPED_IMG}</pre></td></tr>" in body


def test_it_escapes_the_tag_links(alice_client, hostile):
    issue, _ = hostile
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    assert (
        '?query=quote%3A%22%5C%22%20onmouseover%3D%5C%22alert%281%29%22">'
        '<span class="tag-key">quote</span><span class="tag-value">'
        "&quot; onmouseover=&quot;alert(1)</span></a>"
    ) in body


def test_it_links_only_http_urls(alice_client, project):
    issue, _ = send_event(
        project,
        error_event(request={"url": "https://shop.example/cart", "method": "POST"}),
    )
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    assert (
        '<a href="https://shop.example/cart" rel="nofollow noopener noreferrer" '
        'target="_blank">https://shop.example/cart</a>'
    ) in body


def test_it_escapes_comments_feedback_and_attachment_names(
    alice_client, alice, project, hostile
):
    issue, event = hostile
    Activity.objects.create(
        issue=issue,
        user=alice,
        kind="comment",
        data={"text": f"{SCRIPT} [click]({JS_URL}) {IMG}"},
    )
    UserReport.objects.create(
        project=project, event_id=event.event_id, name=SCRIPT, email=IMG, comments=QUOTE
    )
    Attachment.objects.create(
        project=project, event_id=event.event_id, name=IMG, path="attachments/x"
    )
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    _assert_inert(body)
    assert f"<p>{ESCAPED_SCRIPT} [click](javascript:alert(1)) {ESCAPED_IMG}</p>" in body


def test_it_serves_pages_under_a_strict_content_security_policy(alice_client, hostile):
    issue, _ = hostile
    response = alice_client.get(f"/issues/{issue.pk}/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    # No inline script or style of ours either.
    body = response.content.decode()
    assert re.search(r"<script(?![^>]*\bsrc=)", body) is None
    assert " style=" not in body
    assert " onclick=" not in body
