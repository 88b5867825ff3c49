"""The counters digest updates in every batch leave room on their pages,
so PostgreSQL can update their rows without touching their indexes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from fixtrail.core import upserts
from fixtrail.issues.models import TagValue
from tests.builders import make_issue

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a PostgreSQL storage setting"
    ),
]

COUNTERS = ("issues_tagvalue", "issues_hourlycount", "issues_issueuser")


def test_the_counter_tables_leave_a_fifth_of_each_page_free():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [list(COUNTERS)],
        )
        options = dict(cursor.fetchall())
    assert options == {table: ["fillfactor=80"] for table in COUNTERS}


def test_adding_to_a_tag_value_is_a_heap_only_update(project):
    issue = make_issue(project)
    moment = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    row = {
        "issue": issue.pk,
        "key": "release",
        "value": "shop@1.0",
        "times_seen": 1,
        "first_seen": moment,
        "last_seen": moment,
    }

    def add() -> None:
        upserts.upsert_add(
            TagValue,
            [row],
            key=("issue", "key", "value"),
            add=("times_seen",),
            least=("first_seen",),
            greatest=("last_seen",),
        )

    def hot_updates() -> int:
        # This transaction's count, kept as it happens (the test's own).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_hot_updated("
                "'issues_tagvalue'::regclass)"
            )
            return cursor.fetchone()[0]

    add()
    before = hot_updates()
    add()
    # The upsert changes no indexed column (a new index on one would turn
    # every tag-value update into index writes), so with room on the page
    # it is heap-only.
    assert hot_updates() == before + 1
    assert TagValue.objects.get(issue=issue).times_seen == 2
