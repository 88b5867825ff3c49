"""The data migration gives projects that existed before alerts their
default rule, and starts the evaluator's cursors after their history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("alerts", "0001_initial")
AFTER = ("alerts", "0002_default_rules")


def _migrate(target):
    """Move alerts to ``target`` and every other app to its latest
    migration, so the models match the tables the test writes."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "alerts"]
    targets = [*others, target]
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_gives_existing_projects_the_default_rule_and_skips_history():
    old = _migrate(BEFORE)
    # The test database went through 0002 once already, on no history.
    old.get_model("alerts", "AlertCursor").objects.all().delete()
    org = old.get_model("accounts", "Organization").objects.create(
        slug="old", name="Old"
    )
    project = old.get_model("projects", "Project").objects.create(
        organization=org, slug="legacy", name="Legacy"
    )
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    issue = old.get_model("issues", "Issue").objects.create(
        project=project, short_id=1, title="Old", first_seen=now, last_seen=now
    )
    activity = old.get_model("issues", "Activity").objects.create(
        issue=issue, kind="first_seen", created_at=now
    )
    new = _migrate(AFTER)
    rule = new.get_model("alerts", "AlertRule").objects.get(project_id=project.pk)
    assert (rule.name, rule.triggers, rule.is_default) == (
        "New issues and regressions",
        ["new", "regression"],
        True,
    )
    actions = new.get_model("alerts", "AlertAction").objects.filter(rule=rule)
    assert [a.kind for a in actions] == ["members"]
    cursor = new.get_model("alerts", "AlertCursor").objects.get(name="activity")
    assert (cursor.position, cursor.settled) == (activity.pk, activity.pk)
