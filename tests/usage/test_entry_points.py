"""The usage report's page, API and command, and the counting in the
views that do the counted things."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from fixtrail.accounts.models import ApiToken
from fixtrail.usage.models import FeatureUse
from tests.builders import make_issue, make_user


@pytest.fixture
def admin(db):
    return make_user("root@example.org", is_superuser=True)


def test_it_shows_the_report_to_an_instance_admin(client, admin, project):
    client.force_login(admin)

    response = client.get("/usage/?days=7")

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 project, 1 with ingestion enabled, 0 receiving events." in page
    assert "Issue searches" in page


def test_it_hides_the_report_page_from_others(alice_client, org):
    assert alice_client.get("/usage/").status_code == 404


def test_it_answers_the_report_to_an_admin_token(client, admin, project):
    token = ApiToken.issue(admin, "ops", ["org:read"])[1]

    response = client.get("/api/v1/usage?days=14", HTTP_AUTHORIZATION=f"Bearer {token}")

    body = response.json()
    assert response.status_code == 200
    assert body["days"] == 14
    assert len(body["per_day"]) == 14
    assert body["projects"]["ingestion_enabled"] == 1


@pytest.mark.parametrize(
    ("user", "days", "status"), [("alice", 7, 403), ("root", 0, 400)]
)
def test_it_refuses_others_and_bad_windows(client, alice, admin, user, days, status):
    who = alice if user == "alice" else admin
    token = ApiToken.issue(who, "t", ["org:read"])[1]

    response = client.get(
        f"/api/v1/usage?days={days}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == status


def test_it_prints_the_report(project):
    out = io.StringIO()

    call_command("usage", "--days", "7", stdout=out)

    text = out.getvalue()
    assert "Usage over the last 7 days" in text
    assert "Projects: 1, ingestion enabled 1, receiving events 0" in text
    assert "  Bulk actions on issues: 0 uses in 0 organization(s)" in text


def test_it_prints_the_report_as_json(project):
    out = io.StringIO()

    call_command("usage", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["days"] == 30
    assert {f["feature"] for f in report["features"]} >= {"searches", "tickets"}


def test_it_rejects_a_bad_window_on_the_command_line(db):
    with pytest.raises(CommandError, match="--days must be between 1 and 366."):
        call_command("usage", "--days", "0")


def test_it_counts_a_search_but_not_the_default_list_or_paging(alice_client, project):
    alice_client.get("/organizations/acme/issues/")
    alice_client.get("/organizations/acme/issues/?query=is:unresolved+KeyError")
    alice_client.get("/organizations/acme/issues/?query=KeyError&cursor=0:25:0")

    assert FeatureUse.objects.get(feature="searches").count == 1


def test_it_counts_opening_the_review_inbox(alice_client, project):
    alice_client.get("/organizations/acme/issues/")
    alice_client.get("/organizations/acme/issues/?query=is:unresolved+is:for_review")

    assert FeatureUse.objects.get(feature="review_inbox").count == 1


def test_it_derives_alerts_sent_from_the_notices(project):
    from django.utils import timezone

    from fixtrail.alerts.models import AlertNotice
    from fixtrail.usage.features import feature_use

    issue = make_issue(project)
    rule = project.alert_rules.get(is_default=True)
    AlertNotice.objects.create(rule=rule, issue=issue, trigger="new", source="a:1")
    since = timezone.now() - dt.timedelta(days=1)
    row = next(r for r in feature_use(since) if r["feature"] == "alerts")
    assert (row["uses"], row["organizations"]) == (1, 1)


def test_it_counts_a_bulk_action_from_the_page(alice_client, project):
    issue = make_issue(project)

    alice_client.post(
        "/organizations/acme/issues/bulk/",
        {"action": "resolve", "how": "now", "issue": [issue.pk]},
    )

    issue.refresh_from_db()
    assert issue.status == "resolved"
    assert FeatureUse.objects.get(feature="bulk_actions").count == 1


def test_it_does_not_count_a_bulk_action_that_failed(alice_client, project):
    alice_client.post("/organizations/acme/issues/bulk/", {"action": "resolve"})

    assert not FeatureUse.objects.filter(feature="bulk_actions").exists()


def test_it_counts_a_bulk_action_from_the_api(client, alice, project):
    issue = make_issue(project)
    token = ApiToken.issue(alice, "t", ["event:write"])[1]

    response = client.put(
        f"/api/0/organizations/acme/issues/?id={issue.pk}",
        data=json.dumps({"status": "resolved"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    issue.refresh_from_db()
    assert response.status_code == 200
    assert issue.status == "resolved"
    assert FeatureUse.objects.get(feature="bulk_actions").count == 1
