"""The alert pages: rules of a project, a rule's deliveries, and each
person's mutes and digest."""

from __future__ import annotations

import pytest

from fixtrail.alerts.models import AlertMute, AlertPreference, AlertRule
from fixtrail.jobs.models import Job
from tests.builders import make_issue

RULES = "/organizations/acme/projects/backend/alerts/"
FORM = {
    "name": "Production errors",
    "events": ["new"],
    "counted": "frequency",
    "threshold": "100",
    "window": "10m",
    "filter": "environment:production",
    "cooldown": "1h",
    "add_actions": "email:ops@example.com\nwebhook:https://hooks.example.com/x",
    "is_active": "on",
}


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def vera_client(client, vera):
    client.force_login(vera)
    return client


@pytest.fixture
def charlie_client(client, charlie, charlies_org):
    client.force_login(charlie)
    return client


def test_it_lists_rules(project, vera_client):
    response = vera_client.get(RULES)
    assert response.status_code == 200
    html = response.content.decode()
    assert "New issues and regressions" in html
    assert "new, regression" in html
    assert "New rule" not in html  # viewers read only


def test_it_creates_a_rule_and_shows_the_secret_once(project, bob_client):
    response = bob_client.post(RULES + "new/", FORM, follow=True)
    assert response.status_code == 200
    rule = AlertRule.objects.get(name="Production errors")
    assert rule.triggers == ["new", "frequency"]
    assert (rule.threshold, rule.window_minutes, rule.cooldown_minutes) == (100, 10, 60)
    assert rule.created_by.email == "bob@example.org"
    secret = rule.actions.get(kind="webhook").secret
    assert (
        f"Webhook signing secret (copy it now): {secret}" in response.content.decode()
    )
    again = bob_client.get(rule.get_absolute_url()).content.decode()
    assert secret not in again
    assert "https://hooks.example.com/x" not in again


def test_it_rejects_a_bad_filter_with_the_reason(project, bob_client):
    response = bob_client.post(RULES + "new/", {**FORM, "filter": "level:loud"})
    assert response.status_code == 200
    assert "The filter is not valid: " in response.content.decode()
    assert AlertRule.objects.filter(name="Production errors").exists() is False


def test_it_edits_a_rule_and_removes_an_action(project, bob_client):
    rule = project.alert_rules.get()
    members = rule.actions.get()
    response = bob_client.post(
        rule.get_absolute_url(),
        {
            "name": "Renamed",
            "events": ["regression"],
            "cooldown": "2h",
            "add_actions": "email:oncall@example.com",
            "remove_actions": [str(members.pk)],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.triggers, rule.cooldown_minutes) == (
        "Renamed",
        ["regression"],
        120,
    )
    assert [a.spec() for a in rule.actions.all()] == ["email:oncall@example.com"]


def test_it_shows_failed_deliveries_on_the_rule_page(project, vera_client):
    rule = project.alert_rules.get()
    Job.objects.create(
        kind="alerts.deliver",
        owner=rule.job_owner,
        state=Job.State.FAILED,
        attempts=30,
        last_error="hooks.example.com answered 410: <gone>",
    )
    html = vera_client.get(rule.get_absolute_url()).content.decode()
    assert "Last error: hooks.example.com answered 410: &lt;gone&gt;" in html
    listing = vera_client.get(RULES).content.decode()
    assert "1 failed, 0 retrying: hooks.example.com answered 410" in listing


def test_it_queues_a_test_and_deletes(project, bob_client):
    rule = project.alert_rules.get()
    response = bob_client.post(f"{RULES}{rule.pk}/test/")
    assert response.status_code == 302
    assert Job.objects.filter(owner=rule.job_owner).count() == 1
    assert bob_client.post(f"{RULES}{rule.pk}/delete/").status_code == 302
    assert AlertRule.objects.filter(pk=rule.pk).exists() is False


def test_it_refuses_viewers_changes(project, vera_client):
    rule = project.alert_rules.get()
    assert vera_client.post(RULES + "new/", FORM).status_code == 403
    assert vera_client.post(f"{RULES}{rule.pk}/delete/").status_code == 403
    assert vera_client.post(rule.get_absolute_url(), FORM).status_code == 403
    assert AlertRule.objects.count() == 1


def test_it_hides_rules_from_outsiders(project, charlie_client):
    rule = project.alert_rules.get()
    assert charlie_client.get(RULES).status_code == 404
    assert charlie_client.get(rule.get_absolute_url()).status_code == 404
    assert charlie_client.post(f"{RULES}{rule.pk}/delete/").status_code == 404
    assert AlertRule.objects.filter(pk=rule.pk).exists() is True


def test_it_mutes_and_unmutes_an_issue_from_its_page(project, bob, bob_client):
    issue = make_issue(project)
    page = bob_client.get(f"/issues/{issue.pk}/").content.decode()
    assert "Mute alerts for this issue" in page
    response = bob_client.post(
        "/alerts/mute/", {"issue": issue.pk, "on": "1", "next": f"/issues/{issue.pk}/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/issues/{issue.pk}/"
    assert AlertMute.objects.get(user=bob).issue == issue
    page = bob_client.get(f"/issues/{issue.pk}/").content.decode()
    assert "Unmute alerts for this issue" in page
    bob_client.post("/alerts/mute/", {"issue": issue.pk, "on": "0"})
    assert AlertMute.objects.filter(user=bob).exists() is False


def test_it_mutes_a_project_and_everything(project, bob, bob_client):
    bob_client.post("/alerts/mute/", {"project": "acme/backend", "on": "1"})
    bob_client.post("/alerts/mute/", {"on": "1"})
    assert sorted(m.scope for m in AlertMute.objects.filter(user=bob)) == [
        "all",
        "project",
    ]
    html = bob_client.get("/alerts/settings/").content.decode()
    assert "All alert e-mails are muted." in html
    assert "acme/backend" in html


def test_it_does_not_mute_what_the_user_cannot_see(charlies_project, bob, bob_client):
    issue = make_issue(charlies_project)
    response = bob_client.post("/alerts/mute/", {"issue": issue.pk, "on": "1"})
    assert response.status_code == 404
    response = bob_client.post(
        "/alerts/mute/", {"project": "umbrella/secret", "on": "1"}
    )
    assert response.status_code == 404
    assert AlertMute.objects.exists() is False


def test_it_does_not_redirect_elsewhere(project, bob_client):
    response = bob_client.post(
        "/alerts/mute/", {"on": "1", "next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/alerts/settings/"


def test_it_saves_the_digest_preference(bob, bob_client):
    response = bob_client.post("/alerts/settings/", {"digest": "daily"})
    assert response.status_code == 302
    assert AlertPreference.objects.get(user=bob).digest == "daily"
