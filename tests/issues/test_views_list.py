from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.models import HourlyCount, SavedSearch
from tests.builders import make_issue, make_project
from tests.issues.test_views_support import (
    error_event,
    send_events,
)

LIST = "/organizations/acme/projects/backend/"


@pytest.fixture
def member_client(client, bob):
    client.force_login(bob)
    return client


def _rows(response) -> list[str]:
    """The titles of the issue rows, in order."""
    return [row.issue.title for row in response.context["rows"]]


def test_it_lists_the_projects_unresolved_issues(alice_client, project):
    send_events(
        project,
        [
            error_event(exception=None, message="first problem"),
            error_event(exception=None, message="second problem"),
        ],
    )
    project.refresh_from_db()  # digest moved the short id sequence on
    make_issue(project, title="long fixed", status="resolved")
    response = alice_client.get(LIST)
    assert response.status_code == 200
    assert sorted(_rows(response)) == ["first problem", "second problem"]
    body = response.content.decode()
    assert "<!doctype html>" in body
    assert 'id="bulk"' in body
    assert 'class="sparkline"' in body
    assert "BACKEND-1" in body


def test_it_shows_the_period_counts_users_and_environment(alice_client, project):
    send_events(project, [error_event(), error_event(user={"id": "7"})])
    response = alice_client.get(LIST)
    (row,) = response.context["rows"]
    assert row.events == 2
    assert row.users == 2
    assert row.environments == ["production"]
    assert row.badges == ["new"]


def test_it_hides_issues_not_seen_in_the_period_and_counts_within_it(
    alice_client, project
):
    now = timezone.now()
    old = make_issue(
        project, title="old one", last_seen=now - dt.timedelta(days=3), times_seen=9
    )
    HourlyCount.objects.create(
        issue=old,
        hour=now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=3),
        count=9,
    )
    assert _rows(alice_client.get(LIST)) == []
    response = alice_client.get(LIST + "?period=14d")
    (row,) = response.context["rows"]
    assert row.issue == old
    assert row.events == 9
    assert response.context["state"].period == "14d"


def test_it_lists_every_project_of_the_organization(alice_client, org, project):
    other = make_project(org, "frontend")
    make_issue(project, title="backend issue")
    make_issue(other, title="frontend issue")
    response = alice_client.get("/organizations/acme/issues/")
    assert response.status_code == 200
    assert sorted(_rows(response)) == ["backend issue", "frontend issue"]
    assert "FRONTEND-1" in response.content.decode()


def test_it_filters_by_the_search(alice_client, project):
    send_events(
        project,
        [
            error_event(exception=None, message="checkout failed", level="warning"),
            error_event(exception=None, message="login failed", level="error"),
        ],
    )
    response = alice_client.get(LIST, {"query": "is:unresolved level:warning"})
    assert _rows(response) == ["checkout failed"]
    response = alice_client.get(LIST, {"query": "failed !login"})
    assert _rows(response) == ["checkout failed"]


def test_it_shows_a_bad_query_inline(alice_client, project):
    make_issue(project)
    response = alice_client.get(LIST, {"query": "is:open"})
    assert response.status_code == 200
    assert response.context["search_error"].startswith('Unknown value "open" for is:.')
    assert b'class="search-error" role="alert"' in response.content
    assert _rows(response) == []


def test_it_shows_every_issue_for_an_empty_query(alice_client, project):
    make_issue(project, title="open")
    make_issue(project, title="done", status="resolved")
    response = alice_client.get(LIST + "?query=")
    assert sorted(_rows(response)) == ["done", "open"]


@pytest.mark.parametrize(
    ("params", "order"),
    [
        ({}, ["b", "c", "a"]),
        ({"sort": "date", "dir": "asc"}, ["a", "c", "b"]),
        ({"sort": "new"}, ["a", "c", "b"]),
        ({"sort": "freq"}, ["c", "a", "b"]),
        ({"sort": "freq", "dir": "asc"}, ["b", "a", "c"]),
        ({"sort": "user"}, ["b", "c", "a"]),
        ({"sort": "priority"}, ["a", "b", "c"]),
        ({"sort": "nonsense"}, ["b", "c", "a"]),
    ],
)
def test_it_sorts(alice_client, project, params, order):
    now = timezone.now()
    minute = dt.timedelta(minutes=1)
    make_issue(
        project,
        title="a",
        first_seen=now - minute,
        last_seen=now - 3 * minute,
        times_seen=5,
        user_count=1,
        priority=75,
    )
    make_issue(
        project,
        title="b",
        first_seen=now - 9 * minute,
        last_seen=now - minute,
        times_seen=1,
        user_count=7,
    )
    make_issue(
        project,
        title="c",
        first_seen=now - 5 * minute,
        last_seen=now - 2 * minute,
        times_seen=9,
        user_count=3,
    )
    assert _rows(alice_client.get(LIST, params)) == order


def test_it_pages_with_a_cursor_in_the_url(alice_client, project):
    now = timezone.now()
    for i in range(30):
        make_issue(
            project, title=f"issue {i:02}", last_seen=now - dt.timedelta(minutes=i)
        )
    first = alice_client.get(LIST)
    assert len(first.context["rows"]) == 25
    assert first.context["prev_link"] is None
    next_link = first.context["next_link"]
    assert next_link.startswith("?cursor=n%3A")
    second = alice_client.get(LIST + next_link)
    assert _rows(second) == [f"issue {i:02}" for i in range(25, 30)]
    assert second.context["next_link"] is None
    back = alice_client.get(LIST + second.context["prev_link"])
    assert _rows(back) == _rows(first)


def test_it_keeps_the_whole_state_in_the_links(alice_client, project):
    make_issue(project)
    response = alice_client.get(
        LIST, {"query": "level:error", "sort": "freq", "dir": "asc", "period": "30d"}
    )
    links = {link.label: link.querystring for link in response.context["sort_links"]}
    # The active sort flips direction; the others start descending.
    assert links["Events"] == "?query=level%3Aerror&sort=freq&period=30d"
    assert links["Last seen"] == "?query=level%3Aerror&period=30d"
    periods = {
        link.label: link.querystring for link in response.context["period_links"]
    }
    assert periods["24 hours"] == "?query=level%3Aerror&sort=freq&dir=asc"


def test_it_answers_htmx_with_the_list_partial(alice_client, project):
    make_issue(project, title="partial")
    response = alice_client.get(LIST, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="issue-list"')
    assert "<html" not in body
    assert "partial" in body
    assert response["Vary"] == "HX-Request, Cookie"


def test_it_answers_an_htmx_history_restore_with_the_full_page(alice_client, project):
    response = alice_client.get(
        LIST, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_it_shows_the_list_to_a_viewer_without_actions(client, vera, project):
    make_issue(project)
    client.force_login(vera)
    response = client.get(LIST)
    assert response.status_code == 200
    assert 'id="bulk"' not in response.content.decode()
    assert 'name="issue"' not in response.content.decode()


def test_it_hides_the_lists_from_outsiders(client, charlie, project, charlies_project):
    client.force_login(charlie)
    assert client.get(LIST).status_code == 404
    assert client.get("/organizations/acme/issues/").status_code == 404
    assert client.get("/organizations/umbrella/projects/backend/").status_code == 404


def test_it_sends_anonymous_visitors_to_the_login_page(client, project):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={LIST}"


# -- saved searches --------------------------------------------------------


def test_it_saves_a_search(member_client, bob, project):
    response = member_client.post(
        "/organizations/acme/searches/",
        {
            "name": "Firefox errors",
            "query": "browser:Firefox level:error",
            "sort": "freq",
            "project": "backend",
            "next": LIST,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    saved = SavedSearch.objects.get()
    assert (saved.name, saved.query, saved.sort) == (
        "Firefox errors",
        "browser:Firefox level:error",
        "freq",
    )
    assert saved.owner == bob
    assert saved.project == project
    assert saved.is_shared is False


def test_it_lists_own_and_shared_searches_only(member_client, alice, bob, org, project):
    make_issue(project)  # a project without issues waits for its first event
    SavedSearch.objects.create(organization=org, owner=bob, name="mine", query="a")
    SavedSearch.objects.create(
        organization=org,
        owner=alice,
        name="shared",
        query="b",
        sort="freq",
        is_shared=True,
    )
    SavedSearch.objects.create(organization=org, owner=alice, name="private", query="c")
    response = member_client.get(LIST)
    searches = [(s.name, link) for s, link in response.context["saved_searches"]]
    assert searches == [("mine", "?query=a"), ("shared", "?query=b&sort=freq")]


def test_it_deletes_ones_own_search(member_client, bob, org, project):
    saved = SavedSearch.objects.create(organization=org, owner=bob, name="x", query="a")
    response = member_client.post(f"/organizations/acme/searches/{saved.pk}/delete/")
    assert response.status_code == 302
    assert SavedSearch.objects.exists() is False


def test_it_does_not_let_a_member_delete_anothers_shared_search(
    member_client, alice, org, project
):
    saved = SavedSearch.objects.create(
        organization=org, owner=alice, name="x", query="a", is_shared=True
    )
    response = member_client.post(f"/organizations/acme/searches/{saved.pk}/delete/")
    assert response.status_code == 403
    assert SavedSearch.objects.filter(pk=saved.pk).exists() is True


def test_it_does_not_reveal_anothers_private_search(member_client, alice, org, project):
    saved = SavedSearch.objects.create(
        organization=org, owner=alice, name="x", query="a"
    )
    response = member_client.post(f"/organizations/acme/searches/{saved.pk}/delete/")
    assert response.status_code == 404
    assert SavedSearch.objects.filter(pk=saved.pk).exists() is True


def test_it_refuses_saved_searches_to_viewers_and_outsiders(
    client, vera, charlie, project
):
    client.force_login(vera)
    data = {"name": "x", "query": "a"}
    assert client.post("/organizations/acme/searches/", data).status_code == 403
    client.force_login(charlie)
    assert client.post("/organizations/acme/searches/", data).status_code == 404
    assert SavedSearch.objects.exists() is False


def test_it_marks_issues_with_linked_tickets(alice_client, project):
    linked = make_issue(project, title="filed in GitLab")
    make_issue(project, title="not filed")
    ExternalIssueLink.objects.create(
        issue=linked,
        provider="gitlab",
        external_id="12",
        url="https://gitlab.example.com/shop/-/issues/12",
    )
    ExternalIssueLink.objects.create(
        issue=linked, provider="gitlab", external_id="13", url="javascript:alert(1)"
    )
    body = alice_client.get(LIST).content.decode()
    assert (
        '<span class="badge badge-ticket" title="Linked ticket"><a href="https://'
        'gitlab.example.com/shop/-/issues/12" rel="nofollow noopener noreferrer" '
        'target="_blank">GL-#12</a></span>'
    ) in body
    # A URL that is not http(s) is never a link.
    assert 'title="Linked ticket">GL-#13</span>' in body
    assert body.count("badge-ticket") == 2
