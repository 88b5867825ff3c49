"""/api/v1/ alert rules, mutes and digest preferences."""

from __future__ import annotations

from fixtrail.alerts.models import AlertMute, AlertPreference, AlertRule
from fixtrail.jobs.models import Job
from tests.builders import make_issue

RULES = "/api/v1/projects/acme/backend/alert-rules"
RULE_BODY = {
    "name": "Production errors",
    "when": ["new", "frequency:100/10m"],
    "filter": "environment:production level:error",
    "cooldown_minutes": 60,
    "actions": ["members", "webhook:https://hooks.example.com/fixtrail"],
}


def test_it_lists_the_default_rule(project, vera_api):
    response = vera_api.get(RULES)
    assert response.status_code == 200
    (rule,) = response.json()
    assert rule["name"] == "New issues and regressions"
    assert rule["when"] == ["new", "regression"]
    assert rule["is_default"] is True
    assert rule["actions"] == [
        {
            "id": rule["actions"][0]["id"],
            "kind": "members",
            "label": "project members",
            "secret": None,
        }
    ]
    assert rule["deliveries"] == {
        "failed": 0,
        "retrying": 0,
        "last_error": None,
        "last_error_at": None,
    }


def test_it_creates_a_rule_and_answers_the_webhook_secret_once(project, bob_api):
    response = bob_api.post_json(RULES, RULE_BODY)
    assert response.status_code == 201
    body = response.json()
    rule = AlertRule.objects.get(pk=body["id"])
    hook = rule.actions.get(kind="webhook")
    assert body["when"] == ["new", "frequency:100/10m"]
    assert body["filter"] == "environment:production level:error"
    assert [a["secret"] for a in body["actions"]] == [None, hook.secret]
    assert body["actions"][1]["label"] == "https://hooks.example.com/…"
    again = bob_api.get(f"{RULES}/{rule.pk}").json()
    assert [a["secret"] for a in again["actions"]] == [None, None]


def test_it_rejects_a_bad_filter_with_the_reason(project, alice_api):
    response = alice_api.post_json(RULES, {**RULE_BODY, "filter": "level:loud"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The filter is not valid: ")
    assert AlertRule.objects.filter(name="Production errors").exists() is False


def test_it_rejects_a_bad_trigger(project, alice_api):
    response = alice_api.post_json(RULES, {**RULE_BODY, "when": ["sometimes"]})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown trigger 'sometimes'")


def test_it_replaces_a_rule(project, alice_api):
    rule_id = alice_api.post_json(RULES, RULE_BODY).json()["id"]
    response = alice_api.put_json(
        f"{RULES}/{rule_id}",
        {**RULE_BODY, "when": ["spike:4"], "actions": ["email:ops@example.com"]},
    )
    assert response.status_code == 200
    rule = AlertRule.objects.get(pk=rule_id)
    assert (rule.triggers, rule.threshold) == (["spike"], 4)
    assert [a.spec() for a in rule.actions.all()] == ["email:ops@example.com"]


def test_it_deletes_a_rule(project, alice_api):
    rule_id = alice_api.post_json(RULES, RULE_BODY).json()["id"]
    assert alice_api.delete(f"{RULES}/{rule_id}").status_code == 204
    assert AlertRule.objects.filter(pk=rule_id).exists() is False


def test_it_queues_a_test_message(project, alice_api):
    rule = project.alert_rules.get()
    response = alice_api.post(f"{RULES}/{rule.pk}/test")
    assert response.status_code == 202
    assert response.json() == {"queued": 1}
    job = Job.objects.get(owner=rule.job_owner)
    assert job.payload["test"] is True


def test_it_lets_viewers_read_but_not_write(project, vera_api):
    assert vera_api.post_json(RULES, RULE_BODY).status_code == 403
    rule = project.alert_rules.get()
    assert vera_api.delete(f"{RULES}/{rule.pk}").status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists() is True


def test_it_hides_rules_from_outsiders(project, charlie_api):
    rule = project.alert_rules.get()
    assert charlie_api.get(RULES).status_code == 404
    assert charlie_api.get(f"{RULES}/{rule.pk}").status_code == 404
    assert charlie_api.delete(f"{RULES}/{rule.pk}").status_code == 404
    assert AlertRule.objects.filter(pk=rule.pk).exists() is True


def test_it_mutes_an_issue_a_project_and_everything(project, bob, bob_api):
    issue = make_issue(project)
    first = bob_api.post_json("/api/v1/alert-mutes", {"issue": issue.pk})
    second = bob_api.post_json("/api/v1/alert-mutes", {"project": "acme/backend"})
    third = bob_api.post_json("/api/v1/alert-mutes", {})
    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert [r.json()["scope"] for r in (first, second, third)] == [
        "issue",
        "project",
        "all",
    ]
    assert second.json()["project"] == "acme/backend"
    listed = bob_api.get("/api/v1/alert-mutes").json()
    assert [m["scope"] for m in listed] == ["issue", "project", "all"]
    assert (
        bob_api.delete(f"/api/v1/alert-mutes/{first.json()['id']}").status_code == 204
    )
    assert AlertMute.objects.filter(user=bob).count() == 2


def test_it_does_not_mute_an_issue_the_user_cannot_see(charlies_project, bob_api):
    issue = make_issue(charlies_project)
    response = bob_api.post_json("/api/v1/alert-mutes", {"issue": issue.pk})
    assert response.status_code == 404
    assert AlertMute.objects.exists() is False


def test_it_sets_the_digest_preference(bob, bob_api):
    assert bob_api.get("/api/v1/alert-preferences").json() == {"digest": "off"}
    response = bob_api.put_json("/api/v1/alert-preferences", {"digest": "weekly"})
    assert response.json() == {"digest": "weekly"}
    assert AlertPreference.objects.get(user=bob).digest == "weekly"
    bad = bob_api.put_json("/api/v1/alert-preferences", {"digest": "hourly"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "digest must be off, daily or weekly."}
