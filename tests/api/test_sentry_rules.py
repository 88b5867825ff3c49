"""Sentry's issue alert rule API: /api/0/projects/{org}/{project}/rules/."""

from __future__ import annotations

from fixtrail.alerts.models import AlertRule

RULES = "/api/0/projects/acme/backend/rules/"
FIRST_SEEN = "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"
REGRESSION = "sentry.rules.conditions.regression_event.RegressionEventCondition"
FREQUENCY = "sentry.rules.conditions.event_frequency.EventFrequencyCondition"
USERS = "sentry.rules.conditions.event_frequency.EventUniqueUserFrequencyCondition"
EMAIL = "sentry.mail.actions.NotifyEmailAction"
TAGGED = "sentry.rules.filters.tagged_event.TaggedEventFilter"


def test_it_lists_rules_in_sentrys_shape(project, alice_api):
    response = alice_api.get(RULES)
    assert response.status_code == 200
    assert 'rel="next"; results="false"' in response["Link"]
    (rule,) = response.json()
    default = project.alert_rules.get()
    assert rule == {
        "id": str(default.pk),
        "name": "New issues and regressions",
        "conditions": [{"id": FIRST_SEEN}, {"id": REGRESSION}],
        "filters": [],
        "actions": [
            {"id": EMAIL, "targetType": "IssueOwners", "fallthroughType": "AllMembers"}
        ],
        "actionMatch": "any",
        "filterMatch": "all",
        "frequency": 30,
        "environment": None,
        "fixtrailFilter": "",
        "dateCreated": rule["dateCreated"],
        "owner": None,
        "createdBy": None,
        "projects": ["backend"],
        "status": "active",
        "snooze": False,
    }


def test_it_creates_a_rule_from_sentrys_json(project, alice_api, bob):
    response = alice_api.post_json(
        RULES,
        {
            "name": "Busy in production",
            "actionMatch": "any",
            "filterMatch": "all",
            "frequency": 60,
            "environment": "production",
            "conditions": [
                {
                    "id": FREQUENCY,
                    "value": 100,
                    "comparisonType": "count",
                    "interval": "1h",
                }
            ],
            "filters": [
                {"id": TAGGED, "key": "browser", "match": "ne", "value": "Bot"}
            ],
            "actions": [
                {"id": EMAIL, "targetType": "Member", "targetIdentifier": bob.pk}
            ],
        },
    )
    assert response.status_code == 201
    body = response.json()
    rule = AlertRule.objects.get(pk=int(body["id"]))
    assert (rule.triggers, rule.threshold, rule.window_minutes) == (
        ["frequency"],
        100,
        60,
    )
    assert rule.filter == 'environment:"production" !browser:"Bot"'
    assert rule.cooldown_minutes == 60
    assert [a.spec() for a in rule.actions.all()] == ["email:bob@example.org"]
    assert body["conditions"] == [
        {"id": FREQUENCY, "comparisonType": "count", "value": 100, "interval": "1h"}
    ]
    assert body["environment"] == "production"
    assert body["filters"] == [
        {"id": TAGGED, "key": "browser", "match": "ne", "value": "Bot"}
    ]
    assert body["actions"] == [
        {"id": EMAIL, "targetType": "Member", "targetIdentifier": bob.pk}
    ]
    assert body["createdBy"]["email"] == "alice@example.org"


def test_it_maps_a_percent_comparison_to_a_spike(project, alice_api):
    response = alice_api.post_json(
        RULES,
        {
            "name": "Spike",
            "actionMatch": "any",
            "conditions": [
                {
                    "id": FREQUENCY,
                    "value": 200,
                    "comparisonType": "percent",
                    "interval": "1h",
                    "comparisonInterval": "1w",
                }
            ],
            "actions": [
                {"id": "fixtrail.actions.Webhook", "url": "https://h.example/x"}
            ],
        },
    )
    assert response.status_code == 201
    rule = AlertRule.objects.get(pk=int(response.json()["id"]))
    assert (rule.triggers, rule.threshold) == (["spike"], 3)


def test_it_refuses_what_it_does_not_support(project, alice_api):
    body = {
        "name": "All of them",
        "actionMatch": "all",
        "conditions": [{"id": FIRST_SEEN}, {"id": REGRESSION}],
        "actions": [{"id": EMAIL, "targetType": "IssueOwners"}],
    }
    response = alice_api.post_json(RULES, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("actionMatch: Fixtrail rules fire")
    unknown = alice_api.post_json(
        RULES,
        {**body, "actionMatch": "any", "conditions": [{"id": "sentry.rules.x.Y"}]},
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "detail": "conditions: Fixtrail does not support 'sentry.rules.x.Y'."
    }
    assert AlertRule.objects.filter(name="All of them").exists() is False


def test_it_updates_and_deletes_a_rule(project, alice_api):
    rule = project.alert_rules.get()
    response = alice_api.put_json(
        f"{RULES}{rule.pk}/",
        {
            "name": "Users",
            "actionMatch": "any",
            "frequency": 5,
            "conditions": [{"id": USERS, "value": 10, "interval": "15m"}],
            "actions": [{"id": EMAIL, "targetType": "IssueOwners"}],
        },
    )
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.name, rule.triggers, rule.window_minutes) == ("Users", ["users"], 15)
    assert alice_api.delete(f"{RULES}{rule.pk}/").status_code == 202
    assert AlertRule.objects.filter(pk=rule.pk).exists() is False


def test_it_hides_rules_from_outsiders_and_viewers_cannot_write(
    project, charlie_api, vera_api
):
    rule = project.alert_rules.get()
    assert charlie_api.get(RULES).status_code == 404
    assert charlie_api.get(f"{RULES}{rule.pk}/").status_code == 404
    assert vera_api.delete(f"{RULES}{rule.pk}/").status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists() is True
