"""User feedback pages and the crash-report dialog at /api/embed/error-page/."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest

from fixtrail.events.models import Event, UserReport
from fixtrail.ingest.keys import forget_keys
from tests.digest.queueing import digest_payloads, python_error

PAGE = "/organizations/acme/projects/backend/feedback/"
DIALOG = "/api/embed/error-page/"
EVENT_ID = "0d0f2a6e4c3b4a19a9f6d1e2c3b4a596"
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _report(project, event_id: str, comments: str, minute: int = 0) -> UserReport:
    return UserReport.objects.create(
        project=project,
        event_id=event_id,
        name="Ann",
        comments=comments,
        created_at=T0 + dt.timedelta(minutes=minute),
    )


def _dialog_url(project_key, **params: str) -> str:
    dsn = f"http://{project_key.public_key}@testserver/{project_key.project_id}"
    return f"{DIALOG}?{urlencode({'dsn': dsn, 'eventId': EVENT_ID, **params})}"


def test_it_lists_a_projects_feedback_newest_first(project, alice_client):
    (event_id,) = digest_payloads(project, [python_error()], received_at=T0)
    issue = Event.objects.get(event_id=event_id).issue
    _report(project, event_id, "first words", 0)
    _report(project, "e" * 32, "<script>later</script>", 5)

    response = alice_client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("&lt;script&gt;later") < html.index("first words")
    assert "<script>later" not in html
    assert f'href="/issues/{issue.pk}/events/{event_id}/"' in html


def test_it_lists_an_issues_feedback_and_links_it_from_the_issue(project, alice_client):
    one, other = digest_payloads(
        project,
        [python_error(), python_error(type_="KeyError", function="other")],
        received_at=T0,
    )
    issue = Event.objects.get(event_id=one).issue
    _report(project, one, "about this issue")
    _report(project, other, "about another issue")

    issue_page = alice_client.get(f"/issues/{issue.pk}/")
    response = alice_client.get(f"/issues/{issue.pk}/feedback/")

    assert f'href="/issues/{issue.pk}/feedback/"' in issue_page.content.decode()
    assert "1 user feedback" in issue_page.content.decode()
    html = response.content.decode()
    assert "about this issue" in html
    assert "about another issue" not in html


def test_it_hides_feedback_from_outsiders(project, client, charlie):
    issue_id = Event.objects.get(
        event_id=digest_payloads(project, [python_error()], received_at=T0)[0]
    ).issue_id
    client.force_login(charlie)
    assert client.get(PAGE).status_code == 404
    assert client.get(f"/issues/{issue_id}/feedback/").status_code == 404


def test_it_serves_the_dialog_loader_script(project_key, client):
    response = client.get(_dialog_url(project_key))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    script = response.content.decode()
    assert "format=html" in script
    assert "__sentry_reportdialog_closed__" in script


def test_it_serves_a_form_that_any_site_may_frame(project_key, client):
    response = client.get(
        _dialog_url(project_key, format="html", name="Ann", title="<b>Oops</b>")
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;b&gt;Oops&lt;/b&gt;" in html
    assert 'value="Ann"' in html
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_it_stores_what_the_dialog_posts(project, project_key, client):
    response = client.post(
        _dialog_url(project_key, format="html"),
        {"name": "Ann", "email": "ann@example.org", "comments": "Lost my cart"},
    )

    assert response.status_code == 200
    assert 'id="sent"' in response.content.decode()
    report = UserReport.objects.get()
    assert (report.project_id, report.event_id, report.comments) == (
        project.pk,
        EVENT_ID,
        "Lost my cart",
    )


def test_it_shows_the_form_again_when_comments_are_missing(project_key, client):
    response = client.post(
        _dialog_url(project_key, format="html"),
        {"name": "Ann", "email": "ann@example.org", "comments": ""},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "comments must not be empty" in html
    # What the user typed is kept.
    assert 'value="ann@example.org"' in html
    assert UserReport.objects.exists() is False


@pytest.mark.parametrize(
    "params",
    [
        {"eventId": EVENT_ID},
        {"dsn": "http://nosuchkey@testserver/1", "eventId": EVENT_ID},
        {"dsn": "not a dsn", "eventId": EVENT_ID},
    ],
)
def test_it_refuses_an_unknown_dsn(project_key, client, params):
    response = client.get(f"{DIALOG}?{urlencode(params)}")
    assert response.status_code == 404


def test_it_refuses_a_malformed_event_id(project_key, client):
    response = client.get(_dialog_url(project_key, eventId="12"))
    assert response.status_code == 404


def test_it_refuses_a_disabled_key(project_key, client):
    project_key.is_active = False
    project_key.save(update_fields=["is_active"])
    forget_keys()
    response = client.post(_dialog_url(project_key, format="html"), {"comments": "x"})
    assert response.status_code == 404
    assert UserReport.objects.exists() is False
