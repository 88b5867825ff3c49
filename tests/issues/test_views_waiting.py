"""A new project opens on "waiting for your first event" and turns into
its issue list once digest has stored one."""

from __future__ import annotations

from django.utils import timezone

from tests.builders import make_project
from tests.digest.queueing import digest_payloads, python_error

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_waits_for_the_first_event_with_the_dsn_and_the_platform_first(
    alice_client, org
):
    project = make_project(org, "shop", platform="node")
    key = project.keys.get()
    response = alice_client.get("/organizations/acme/projects/shop/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Waiting for your first event" in body
    assert f'data-copy="{key.dsn}"' in body
    # The project's platform comes first, install command and code apart.
    assert "<h2>Set up Node.js</h2>" in body
    assert body.index("npm install @sentry/node") < body.index("pip install sentry-sdk")
    assert '<pre tabindex="0">npm install @sentry/node</pre>' in body
    assert "sentry-cli send-event -m" in body
    assert 'hx-trigger="every 2s"' in body
    # Nothing to act on yet.
    assert 'id="bulk"' not in body


def test_it_turns_into_the_issue_list_once_the_first_event_is_digested(
    alice_client, project
):
    waiting = alice_client.get("/organizations/acme/projects/backend/", **HTMX)
    digest_payloads(project, [python_error()], received_at=timezone.now())
    listing = alice_client.get("/organizations/acme/projects/backend/", **HTMX)
    assert "Waiting for your first event" in waiting.content.decode()
    body = listing.content.decode()
    assert listing.status_code == 200
    assert "Waiting for your first event" not in body
    assert "ValueError" in body
    assert 'id="issue-list"' in body
    assert 'id="bulk"' in body


def test_it_shows_no_bulk_bar_on_an_empty_list(alice_client, project):
    digest_payloads(project, [python_error()], received_at=timezone.now())
    response = alice_client.get(
        "/organizations/acme/projects/backend/?query=is:resolved"
    )
    body = response.content.decode()
    assert "No issues match this search" in body
    assert 'id="bulk"' not in body


def test_it_hides_the_waiting_page_from_outsiders(client, charlie, project):
    client.force_login(charlie)
    response = client.get("/organizations/acme/projects/backend/")
    assert response.status_code == 404
