"""What #10 asks of the triage pages: the organization-wide list's project
column and filter, who resolved an issue, breadcrumbs at absolute times,
and event users shown by e-mail first."""

from __future__ import annotations

import datetime as dt

from tests.builders import make_project
from tests.issues.test_views_support import error_event, send_event

ORG_LIST = "/organizations/acme/issues/"


def test_it_shows_each_issues_project_in_the_organization_list(
    alice_client, org, project
):
    web = make_project(org, "web", name="Web Shop")
    send_event(project, error_event())
    send_event(web, error_event(message="other", exception=None))
    body = alice_client.get(ORG_LIST).content.decode()
    assert '<th class="project-col">Project</th>' in body
    assert (
        '<a href="/organizations/acme/projects/web/" hx-boost="false">Web Shop</a>'
        in body
    )
    assert '<option value="web">Web Shop</option>' in body


def test_it_filters_the_organization_list_by_project(alice_client, org, project):
    web = make_project(org, "web", name="Web Shop")
    send_event(project, error_event())
    send_event(web, error_event(message="only on the web", exception=None))
    response = alice_client.get(ORG_LIST + "?project=web&sort=new")
    body = response.content.decode()
    assert "only on the web" in body
    assert "ZeroDivisionError" not in body
    assert '<option value="web" selected>Web Shop</option>' in body
    # Sort and period links keep the filter.
    assert "project=web" in body.split('aria-label="Sort"', 1)[1].split("</nav>")[0]
    assert '<input type="hidden" name="project" value="web">' in body


def test_it_shows_every_project_for_an_unknown_filter(alice_client, project):
    send_event(project, error_event())
    body = alice_client.get(ORG_LIST + "?project=nope").content.decode()
    assert "ZeroDivisionError" in body


def test_it_has_no_project_column_on_a_project_list(alice_client, project):
    send_event(project, error_event())
    body = alice_client.get("/organizations/acme/projects/backend/").content.decode()
    assert "project-col" not in body
    assert 'name="project" aria-label="Project"' not in body


def test_it_says_who_resolved_the_issue_and_in_which_release(
    alice_client, alice, project
):
    alice.name = "Dana"
    alice.save(update_fields=["name"])
    issue, _ = send_event(project, error_event())
    alice_client.post(
        f"/issues/{issue.pk}/action/",
        {"action": "resolve", "how": "in_release", "release": "2.1"},
    )
    issue.refresh_from_db()
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    assert issue.status == "resolved"
    assert '<span class="muted resolution">resolved by Dana in 2.1' in body
    assert "<strong>Dana</strong>" in body  # the activity line


def test_it_shows_breadcrumbs_at_their_absolute_time(alice_client, project):
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    crumb_time = at - dt.timedelta(seconds=3)
    issue, _ = send_event(
        project,
        error_event(
            timestamp=at.timestamp(),
            breadcrumbs={
                "values": [
                    {
                        "timestamp": crumb_time.timestamp(),
                        "category": "http",
                        "message": "GET /cart",
                    }
                ]
            },
        ),
    )
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    clock = crumb_time.strftime("%H:%M:%S")
    assert 'title="−3 s from the event"' in body or 'from the event"' in body
    assert f">{clock}.000</time>" in body


def test_it_shows_the_events_user_by_email_before_id(alice_client, project):
    issue, _ = send_event(project, error_event())
    body = alice_client.get(f"/issues/{issue.pk}/").content.decode()
    user_block = body.split("<h3>User</h3>", 1)[1]
    assert user_block.index("dana@example.org") < user_block.index(">42<")
