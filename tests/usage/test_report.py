"""The usage report's numbers, from events digested the real way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fixtrail.accounts.models import User
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.models import Activity, SavedSearch
from fixtrail.usage.features import FEATURES, count_use
from fixtrail.usage.models import FeatureUse
from fixtrail.usage.report import usage_report
from tests.builders import make_issue, make_project
from tests.digest.queueing import digest_payloads, python_error

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def digested(project):
    """Three events of one issue yesterday and one of another today."""
    digest_payloads(
        project, [python_error()] * 3, received_at=NOW - dt.timedelta(days=1)
    )
    digest_payloads(
        project,
        [python_error(type_="KeyError")],
        received_at=NOW - dt.timedelta(hours=1),
    )


def test_it_counts_events_and_new_issues_per_day(digested):
    report = usage_report(NOW, days=3)

    assert report["per_day"] == [
        {"day": "2026-12-01", "events": 0, "issues": 0},
        {"day": "2026-12-02", "events": 3, "issues": 1},
        {"day": "2026-12-03", "events": 1, "issues": 1},
    ]


def test_it_counts_projects_enabled_and_receiving(digested, org, project):
    quiet = make_project(org, "quiet")
    off = make_project(org, "off")
    off.keys.update(is_active=False)

    projects = usage_report(NOW, days=7)["projects"]

    assert quiet.keys.filter(is_active=True).exists()
    assert projects["total"] == 3
    assert projects["ingestion_enabled"] == 2
    assert projects["receiving_events"] == 1
    assert projects["by_project"] == [
        {"organization": "acme", "project": "backend", "events": 4}
    ]


def test_it_leaves_out_events_before_the_window(digested):
    report = usage_report(NOW, days=1)

    assert report["per_day"] == [{"day": "2026-12-03", "events": 1, "issues": 1}]
    assert report["projects"]["by_project"][0]["events"] == 1


def test_it_counts_tickets_per_tracker_created_from_errors(project):
    issue = make_issue(project)
    for n, (provider, origin) in enumerate(
        [
            ("gitlab", "created"),
            ("gitlab", "rule"),
            ("jira", "created"),
            ("github", "linked"),
        ]
    ):
        ExternalIssueLink.objects.create(
            issue=issue, provider=provider, external_id=str(n), origin=origin
        )

    report = usage_report(timezone.now(), days=7)

    # A ticket linked by hand was not created from an error here.
    assert report["tickets_created"] == [
        {"tracker": "gitlab", "count": 2},
        {"tracker": "jira", "count": 1},
    ]


def test_it_counts_issues_resolved_by_commits(project):
    issue = make_issue(project)
    Activity.objects.create(issue=issue, kind="resolved", data={"commit": "abc123"})
    Activity.objects.create(issue=issue, kind="resolved", data={})

    assert usage_report(timezone.now(), days=7)["issues_resolved_by_commits"] == 1


def test_it_counts_active_users(alice, bob, org):
    User.objects.filter(pk=alice.pk).update(last_login=NOW - dt.timedelta(days=2))
    User.objects.filter(pk=bob.pk).update(last_login=NOW - dt.timedelta(days=40))

    users = usage_report(NOW, days=30)["users"]

    assert users == {"total": 3, "active": 1}


def test_it_reports_counted_and_derived_features(org, charlies_org, alice):
    count_use("searches", org, now=NOW)
    count_use("searches", org, now=NOW)
    count_use("searches", charlies_org, now=NOW)
    SavedSearch.objects.create(organization=org, owner=alice, name="mine", query="x")

    features = {f["feature"]: f for f in usage_report(NOW, days=7)["features"]}

    assert features["searches"]["uses"] == 3
    assert features["searches"]["organizations"] == 2
    assert features["saved_views"]["uses"] == 1
    assert features["bulk_actions"]["uses"] == 0
    assert set(features) == set(FEATURES)


def test_it_keeps_one_row_per_feature_organization_and_day(org):
    count_use("bulk_actions", org, now=NOW)
    count_use("bulk_actions", org, now=NOW)
    count_use("bulk_actions", org, now=NOW + dt.timedelta(days=1))

    assert list(FeatureUse.objects.order_by("day").values_list("count", flat=True)) == [
        2,
        1,
    ]


def test_it_refuses_to_count_a_derived_or_unknown_feature(org):
    with pytest.raises(ValueError, match="saved_views is derived"):
        count_use("saved_views", org)
    with pytest.raises(KeyError):
        count_use("telemetry", org)
