from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages

from fixtrail.events.models import Attachment, Event, UserReport
from fixtrail.issues.models import Activity, Issue
from fixtrail.storage import blob_store
from tests.builders import make_issue
from tests.issues.test_views_support import (
    error_event,
    send_event,
    send_events,
)


@pytest.fixture
def member_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def sent(project):
    """An issue with one real, digested event."""
    return send_event(project, error_event())


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# -- the page --------------------------------------------------------------


def test_it_shows_the_issue_with_its_latest_event(alice_client, alice, sent):
    issue, event = sent
    response = alice_client.get(f"/issues/{issue.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" in body
    assert "ZeroDivisionError: division by zero" in body
    assert response.context["event"] == event
    view = response.context["view"]
    (exception,) = view.exceptions
    assert (exception.type, exception.value, exception.handled) == (
        "ZeroDivisionError",
        "division by zero",
        False,
    )
    # Most recent call first; the in-app frame is open, the other is not.
    frames = exception.stacktrace.frames
    assert [f.function for f in frames] == ["average_price", "_get_response"]
    assert exception.stacktrace.first_open == 0
    assert '<details open><summary><span class="file">shop/cart.py</span>' in body
    assert '<li class="frame system"><details><summary>' in body
    assert (
        '<li class="current"><span class="ln">42</span>'
        "<code>    return total / count</code></li>" in body
    )
    assert "<tr><th>count</th><td><pre>0</pre></td></tr>" in body
    # Opening the page marks it seen.
    assert list(issue.seen_by.all()) == [alice]


def test_it_shows_charts_tags_releases_and_environments(alice_client, sent):
    issue, _ = sent
    response = alice_client.get(f"/issues/{issue.pk}/")
    body = response.content.decode()
    assert body.count('<svg class="histogram"') == 2
    tags = {
        t.key: [(s.value, s.percent) for s in t.values]
        for t in response.context["tags"]
    }
    assert tags["browser"] == [("Firefox 128", 100)]
    assert tags["environment"] == [("production", 100)]
    assert [t.value for t in response.context["releases"]] == ["backend@1.0.0"]
    assert [t.value for t in response.context["environments"]] == ["production"]
    assert "?query=browser%3A%22Firefox%20128%22" in body


def test_it_shows_the_actions_to_members_only(client, vera, bob, sent):
    issue, _ = sent
    client.force_login(vera)
    body = client.get(f"/issues/{issue.pk}/").content.decode()
    assert 'class="issue-actions"' not in body
    assert 'class="comment-form"' not in body
    client.force_login(bob)
    body = client.get(f"/issues/{issue.pk}/").content.decode()
    assert 'class="issue-actions"' in body
    assert 'class="comment-form"' in body


def test_it_hides_the_issue_from_outsiders(client, charlie, charlies_org, sent):
    issue, event = sent
    client.force_login(charlie)
    for url in (
        f"/issues/{issue.pk}/",
        f"/issues/{issue.pk}/events/",
        f"/issues/{issue.pk}/events/{event.event_id}/",
        f"/issues/{issue.pk}/events/{event.event_id}/json/",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/issues/{issue.pk}/action/", {"action": "resolve"}).status_code
        == 404
    )
    assert (
        client.post(f"/issues/{issue.pk}/comments/", {"text": "hi"}).status_code == 404
    )


def test_it_answers_404_for_an_unknown_issue(alice_client, project):
    assert alice_client.get("/issues/999/").status_code == 404


def test_it_shows_an_issue_whose_events_are_gone(alice_client, project):
    issue = make_issue(project)
    response = alice_client.get(f"/issues/{issue.pk}/")
    assert response.status_code == 200
    assert "No event of this issue is stored any more." in response.content.decode()


# -- events ----------------------------------------------------------------


@pytest.fixture
def three_events(project):
    ids = send_events(
        project, [error_event(release=f"backend@1.0.{n}") for n in range(3)]
    )
    return Event.objects.get(event_id=ids[0]).issue, ids


def test_it_moves_between_events(alice_client, three_events):
    issue, ids = three_events
    # Events sent in one batch share a timestamp; the id orders them.
    oldest, middle, latest = ids
    response = alice_client.get(f"/issues/{issue.pk}/events/{middle}/")
    assert response.context["event"].event_id == middle
    assert (response.context["older"], response.context["newer"]) == (oldest, latest)
    response = alice_client.get(f"/issues/{issue.pk}/events/latest/")
    assert response.context["event"].event_id == latest
    assert response.context["newer"] is None
    response = alice_client.get(f"/issues/{issue.pk}/events/oldest/")
    assert response.context["event"].event_id == oldest
    assert response.context["older"] is None


def test_it_accepts_an_event_id_with_dashes(alice_client, three_events):
    issue, ids = three_events
    dashed = (
        f"{ids[0][:8]}-{ids[0][8:12]}-{ids[0][12:16]}-{ids[0][16:20]}-{ids[0][20:]}"
    )
    response = alice_client.get(f"/issues/{issue.pk}/events/{dashed.upper()}/")
    assert response.context["event"].event_id == ids[0]


def test_it_answers_404_for_an_event_of_another_issue(alice_client, project, sent):
    issue, _ = sent
    _, other = send_event(project, error_event(exception=None, message="other"))
    assert (
        alice_client.get(f"/issues/{issue.pk}/events/{other.event_id}/").status_code
        == 404
    )


def test_it_answers_htmx_with_the_event_partial(alice_client, three_events):
    issue, ids = three_events
    response = alice_client.get(
        f"/issues/{issue.pk}/events/{ids[1]}/", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.startswith('<section id="event"')
    assert "<html" not in body
    assert 'data-older="/issues/' in body


def test_it_lists_searches_and_pages_the_events(alice_client, three_events):
    issue, ids = three_events
    response = alice_client.get(f"/issues/{issue.pk}/events/")
    assert response.status_code == 200
    assert [e.event_id for e in response.context["events_page"].items] == ids[::-1]
    response = alice_client.get(
        f"/issues/{issue.pk}/events/", {"query": "release:backend@1.0.1"}
    )
    assert [e.event_id for e in response.context["events_page"].items] == [ids[1]]
    response = alice_client.get(f"/issues/{issue.pk}/events/", {"query": ids[2][:8]})
    assert [e.event_id for e in response.context["events_page"].items] == [ids[2]]


def test_it_pages_events_with_cursors(alice_client, project, monkeypatch):
    monkeypatch.setattr("fixtrail.issues.overview.EVENTS_PAGE_SIZE", 2)
    ids = send_events(project, [error_event() for _ in range(3)])
    issue = Event.objects.get(event_id=ids[0]).issue
    first = alice_client.get(f"/issues/{issue.pk}/events/").context["events_page"]
    assert [e.event_id for e in first.items] == [ids[2], ids[1]]
    second = alice_client.get(
        f"/issues/{issue.pk}/events/", {"cursor": first.next_cursor}
    ).context["events_page"]
    assert [e.event_id for e in second.items] == [ids[0]]
    assert second.next_cursor is None


def test_it_shows_an_event_search_error_inline(alice_client, three_events):
    issue, _ = three_events
    response = alice_client.get(
        f"/issues/{issue.pk}/events/",
        {"query": "browser:Firefox"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="events-list"')
    assert (
        "Events can be searched by release:, environment:, level: and free text only."
        in body
    )


def test_it_downloads_the_event_as_json(alice_client, sent):
    issue, event = sent
    response = alice_client.get(f"/issues/{issue.pk}/events/{event.event_id}/json/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="{event.event_id}.json"'
    )
    data = json.loads(response.content)
    assert data["event_id"] == event.event_id
    assert data["exception"]["values"][0]["type"] == "ZeroDivisionError"


def test_it_shows_user_feedback_of_the_event(alice_client, project, sent):
    issue, event = sent
    UserReport.objects.create(
        project=project,
        event_id=event.event_id,
        name="Dana",
        comments="It broke\nagain",
    )
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    assert "<p>It broke<br>again</p>" in body
    assert "— Dana" in body


# -- attachments ----------------------------------------------------------


@pytest.fixture
def attached(project, sent, any_store):
    issue, event = sent
    blob_store().put("attachments/log.txt", b"<script>alert(1)</script>")
    item = Attachment.objects.create(
        project=project,
        event_id=event.event_id,
        name="log.txt",
        content_type="text/html",
        size=25,
        path="attachments/log.txt",
    )
    return issue, item


def test_it_lists_and_downloads_attachments(client, vera, attached):
    issue, item = attached
    client.force_login(vera)
    body = client.get(f"/issues/{issue.pk}/").content.decode()
    assert f'href="/issues/{issue.pk}/attachments/{item.pk}/"' in body
    response = client.get(f"/issues/{issue.pk}/attachments/{item.pk}/")
    assert response.status_code == 200
    # Never rendered by the browser, whatever the SDK said the type was.
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="log.txt"'
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"


def test_it_hides_attachments_from_outsiders(client, charlie, charlies_org, attached):
    issue, item = attached
    client.force_login(charlie)
    assert client.get(f"/issues/{issue.pk}/attachments/{item.pk}/").status_code == 404


def test_it_serves_no_file_outside_the_data_directory(alice_client, attached):
    issue, item = attached
    item.path = "../../../../etc/passwd"
    item.save(update_fields=["path"])
    assert (
        alice_client.get(f"/issues/{issue.pk}/attachments/{item.pk}/").status_code
        == 404
    )


def test_it_serves_no_attachment_of_another_issues_event(
    alice_client, project, attached
):
    _, item = attached
    project.refresh_from_db()
    other = make_issue(project, title="other")
    assert (
        alice_client.get(f"/issues/{other.pk}/attachments/{item.pk}/").status_code
        == 404
    )


# -- actions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"how": "now"}, {"status": "resolved", "resolved_in_release": ""}),
        (
            {"how": "next_release"},
            {"status": "resolved", "resolved_in_next_release": True},
        ),
        (
            {"how": "in_release", "release": "backend@1.0.1"},
            {"status": "resolved", "resolved_in_release": "backend@1.0.1"},
        ),
        (
            {"how": "in_commit", "commit": "abc123"},
            {"status": "resolved", "resolved_in_commit": "abc123"},
        ),
    ],
)
def test_it_resolves_in_every_way(member_client, sent, data, fields):
    issue, _ = sent
    response = member_client.post(
        f"/issues/{issue.pk}/action/", {"action": "resolve", **data}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/issues/{issue.pk}/"
    assert _messages(response) == ["Resolved 1 issue."]
    issue.refresh_from_db()
    for name, value in fields.items():
        assert getattr(issue, name) == value


def test_it_reports_a_refused_resolution(member_client, sent):
    issue, _ = sent
    response = member_client.post(
        f"/issues/{issue.pk}/action/", {"action": "resolve", "how": "in_release"}
    )
    assert _messages(response) == ["Choose the release that fixes this issue."]
    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_unresolves(member_client, project):
    issue = make_issue(project, status="resolved")
    member_client.post(f"/issues/{issue.pk}/action/", {"action": "unresolve"})
    issue.refresh_from_db()
    assert issue.status == "unresolved"


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"ignore_count": None, "ignore_until": None}),
        (
            {"ignore_count": "100", "ignore_window": "60"},
            {"ignore_count": 100, "ignore_window": 60},
        ),
        (
            {"ignore_user_count": "5"},
            {"ignore_user_count": 5, "ignore_user_window": None},
        ),
    ],
)
def test_it_ignores_with_conditions(member_client, sent, data, fields):
    issue, _ = sent
    member_client.post(f"/issues/{issue.pk}/action/", {"action": "ignore", **data})
    issue.refresh_from_db()
    assert issue.status == "ignored"
    for name, value in fields.items():
        assert getattr(issue, name) == value


def test_it_refuses_a_window_without_a_count(member_client, sent):
    issue, _ = sent
    response = member_client.post(
        f"/issues/{issue.pk}/action/", {"action": "ignore", "ignore_window": "60"}
    )
    assert _messages(response) == ["A window needs a number of events."]
    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_assigns_and_unassigns(member_client, alice, sent):
    issue, _ = sent
    member_client.post(
        f"/issues/{issue.pk}/action/",
        {"action": "assign", "assignee": f"user:{alice.pk}"},
    )
    issue.refresh_from_db()
    assert issue.assignee == alice
    member_client.post(
        f"/issues/{issue.pk}/action/", {"action": "assign", "assignee": ""}
    )
    issue.refresh_from_db()
    assert issue.assignee is None
    kinds = list(
        Activity.objects.filter(issue=issue)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["assigned", "unassigned"]


def test_it_bookmarks_for_the_user(member_client, bob, sent):
    issue, _ = sent
    member_client.post(f"/issues/{issue.pk}/action/", {"action": "bookmark"})
    assert list(issue.bookmarked_by.all()) == [bob]
    member_client.post(f"/issues/{issue.pk}/action/", {"action": "unbookmark"})
    assert list(issue.bookmarked_by.all()) == []


def test_it_sets_the_priority(member_client, sent):
    issue, _ = sent
    member_client.post(
        f"/issues/{issue.pk}/action/", {"action": "priority", "priority": "75"}
    )
    issue.refresh_from_db()
    assert issue.priority == 75


def test_it_merges_by_short_id_and_shows_the_survivor(member_client, project, sent):
    issue, _ = sent
    project.refresh_from_db()
    other = make_issue(project, title="other", times_seen=50)
    response = member_client.post(
        f"/issues/{issue.pk}/action/",
        {"action": "merge", "merge_with": f"backend-{other.short_id}"},
    )
    assert response["Location"] == f"/issues/{other.pk}/"
    assert list(Issue.objects.values_list("pk", flat=True)) == [other.pk]
    assert Event.objects.filter(issue=other).count() == 1


def test_it_deletes_and_goes_back_to_the_list(member_client, sent):
    issue, _ = sent
    response = member_client.post(f"/issues/{issue.pk}/action/", {"action": "delete"})
    assert response["Location"] == "/organizations/acme/projects/backend/"
    assert Issue.objects.exists() is False


def test_it_comments_with_escaped_markdown(member_client, bob, sent):
    issue, _ = sent
    response = member_client.post(
        f"/issues/{issue.pk}/comments/",
        {"text": "**Fixed** in `cart.py`, see https://example.org/pr/1 <b>x</b>"},
    )
    assert response["Location"] == f"/issues/{issue.pk}/#activity"
    comment = Activity.objects.get(issue=issue, kind="comment")
    assert comment.user == bob
    body = member_client.get(f"/issues/{issue.pk}/").content.decode()
    assert (
        '<div class="comment"><p><strong>Fixed</strong> in <code>cart.py</code>, see '
        '<a href="https://example.org/pr/1" rel="nofollow noopener noreferrer">'
        "https://example.org/pr/1</a> &lt;b&gt;x&lt;/b&gt;</p></div>"
    ) in body


def test_it_refuses_an_empty_comment(member_client, sent):
    issue, _ = sent
    response = member_client.post(f"/issues/{issue.pk}/comments/", {"text": "   "})
    assert _messages(response) == ["Write a comment first (at most 10,000 characters)."]
    assert Activity.objects.filter(kind="comment").exists() is False


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("action/", {"action": "resolve"}),
        ("action/", {"action": "delete"}),
        ("action/", {"action": "bookmark"}),
        ("comments/", {"text": "hello"}),
    ],
)
def test_it_forbids_actions_to_viewers(client, vera, sent, url, data):
    issue, _ = sent
    client.force_login(vera)
    response = client.post(f"/issues/{issue.pk}/{url}", data)
    assert response.status_code == 403
    issue.refresh_from_db()
    assert issue.status == "unresolved"
    assert list(issue.bookmarked_by.all()) == []
    assert Activity.objects.filter(kind="comment").exists() is False


def test_it_answers_get_on_an_action_with_405(member_client, sent):
    issue, _ = sent
    assert member_client.get(f"/issues/{issue.pk}/action/").status_code == 405
