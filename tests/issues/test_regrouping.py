"""Moving a project to a newer grouping version: the preview on its last
events, the upgrade (page, API, command line), and where events go after."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from fixtrail.issues.models import Activity, Issue, IssueHash
from fixtrail.issues.regrouping import RegroupError, apply_upgrade, preview_upgrade
from fixtrail.projects.models import Project
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_project
from tests.digest.queueing import T0, digest_queued, queue_payloads

PAGE = "/organizations/acme/projects/web/grouping/"


def _browser_error(function: str, path: str = "https://shop.example.com/app.js"):
    """The same TypeError as different browsers name its frames."""
    return {
        "platform": "javascript",
        "exception": {
            "values": [
                {
                    "type": "TypeError",
                    "value": "basket.items is undefined",
                    "stacktrace": {
                        "frames": [
                            {"function": "onCheckoutClick", "abs_path": path},
                            {"function": function, "abs_path": path},
                        ]
                    },
                }
            ]
        },
    }


@pytest.fixture
def web(org):
    """A project still on version 1, with the same error from two browsers
    as two issues, and an unrelated one."""
    project = make_project(org, "web", platform="javascript", grouping_version=1)
    queue_payloads(
        project,
        [
            _browser_error("Object.renderBasket"),
            _browser_error("Object.renderBasket"),
            _browser_error("renderBasket"),
            _browser_error("renderInvoice"),
        ],
    )
    digest_queued()
    assert Issue.objects.filter(project=project).count() == 3
    return project


def test_it_starts_new_projects_on_the_newest_version(org):
    assert make_project(org, "fresh").grouping_version == 2


def test_it_previews_merges_on_the_last_events(web):
    preview = preview_upgrade(web, 2)
    assert preview.to_dict() == {
        "from_version": 1,
        "to_version": 2,
        "events": 4,
        "issues": 3,
        "issues_after": 2,
        "merges": 1,
        "splits": 0,
    }
    web.refresh_from_db()
    assert web.grouping_version == 1


def test_it_refuses_a_version_that_is_not_newer(web):
    with pytest.raises(RegroupError, match="already uses grouping version 1"):
        preview_upgrade(web, 1)
    with pytest.raises(RegroupError, match="There is no grouping version 9."):
        preview_upgrade(web, 9)


def test_it_upgrades_merging_what_the_new_version_puts_together(web, alice):
    apply_upgrade(web, 2, user=alice, now=timezone.now())
    web.refresh_from_db()
    issues = Issue.objects.filter(project=web)
    assert web.grouping_version == 2
    assert sorted(i.times_seen for i in issues) == [1, 3]
    survivor = issues.get(times_seen=3)
    assert Activity.objects.filter(issue=survivor, kind="merged", user=alice).exists()
    # Both version-1 hashes now lead to it (one of them is also the
    # version-2 hash of both browsers' events).
    assert IssueHash.objects.filter(issue=survivor).count() == 2


def test_it_sends_later_events_of_an_old_issue_to_it(web, alice):
    apply_upgrade(web, 2, user=alice, now=timezone.now())
    later = T0 + dt.timedelta(hours=1)
    queue_payloads(
        Project.objects.get(pk=web.pk),
        [_browser_error("renderBasket"), _browser_error("renderInvoice")],
        received_at=later,
    )
    digest_queued(later + dt.timedelta(minutes=1))
    issues = Issue.objects.filter(project=web)
    assert issues.count() == 2
    assert sorted(i.times_seen for i in issues) == [2, 4]


def test_it_upgrades_without_merging_when_told(web):
    apply_upgrade(web, 2, user=None, now=timezone.now(), merge=False)
    assert Issue.objects.filter(project=web).count() == 3


def test_it_shows_the_preview_on_the_page(client, alice, web):
    client.force_login(alice)
    response = client.get(PAGE, {"preview": "2"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<strong data-merges>1</strong>" in body
    assert "<strong data-splits>0</strong>" in body
    assert "Upgrade to version 2" in body


def test_it_upgrades_from_the_page(client, alice, web):
    client.force_login(alice)
    response = client.post(PAGE, {"version": "2", "merge": "on"})
    web.refresh_from_db()
    assert response.status_code == 302
    assert web.grouping_version == 2
    assert Issue.objects.filter(project=web).count() == 2


def test_it_refuses_the_upgrade_to_a_member(client, bob, web):
    client.force_login(bob)
    assert (
        "Upgrade to version 2"
        not in client.get(PAGE, {"preview": "2"}).content.decode()
    )
    response = client.post(PAGE, {"version": "2"})
    web.refresh_from_db()
    assert response.status_code == 403
    assert web.grouping_version == 1


def test_it_hides_the_page_from_outsiders(client, charlie, charlies_org, web):
    client.force_login(charlie)
    assert client.get(PAGE).status_code == 404


def test_it_previews_and_upgrades_through_the_api(alice, web):
    api = ApiClient(issue_token(alice))
    path = "/api/v1/projects/acme/web/grouping/upgrade"
    preview = api.get(path, {"version": "2"})
    assert preview.status_code == 200
    assert preview.json()["merges"] == 1
    done = api.post_json(path, {"version": 2, "merge": True})
    web.refresh_from_db()
    assert done.status_code == 200
    assert web.grouping_version == 2
    again = api.post_json(path, {"version": 2})
    assert again.status_code == 400
    assert again.json()["detail"] == (
        "The project already uses grouping version 2; it can only move to a newer one."
    )


def test_it_previews_and_upgrades_from_the_command_line(web, capsys):
    call_command("grouping", "preview", "acme", "web")
    assert json.loads(capsys.readouterr().out)["merges"] == 1
    call_command("grouping", "upgrade", "acme", "web", "--no-merge")
    web.refresh_from_db()
    assert web.grouping_version == 2
    with pytest.raises(CommandError, match="already uses grouping version 2"):
        call_command("grouping", "upgrade", "acme", "web")
