"""Bulk writes digest relies on, against the real database of the run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from fixtrail.core import upserts
from fixtrail.events.models import EventKey
from fixtrail.issues.models import HourlyCount, Issue, IssueUser
from tests.builders import make_issue

HOUR = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)


@pytest.fixture
def issue(project):
    return make_issue(project)


def _counts(issue):
    return dict(HourlyCount.objects.filter(issue=issue).values_list("hour", "count"))


@pytest.mark.django_db
def test_it_adds_counts_into_existing_rows(issue):
    rows = [{"issue": issue.pk, "hour": HOUR, "count": 2}]
    upserts.upsert_add(HourlyCount, rows, key=("issue", "hour"), add=("count",))
    upserts.upsert_add(
        HourlyCount,
        [*rows, {"issue": issue.pk, "hour": HOUR + dt.timedelta(hours=1), "count": 1}],
        key=("issue", "hour"),
        add=("count",),
    )
    assert _counts(issue) == {HOUR: 4, HOUR + dt.timedelta(hours=1): 1}


@pytest.mark.django_db
def test_it_reports_only_the_keys_it_inserted(project):
    first = [{"project": project.pk, "event_id": "a" * 32, "received_at": HOUR}]
    assert upserts.insert_new(EventKey, first, key=("project", "event_id")) == {
        (project.pk, "a" * 32)
    }
    again = [*first, {"project": project.pk, "event_id": "b" * 32, "received_at": HOUR}]
    assert upserts.insert_new(EventKey, again, key=("project", "event_id")) == {
        (project.pk, "b" * 32)
    }


@pytest.mark.django_db
def test_it_updates_each_row_with_its_own_values(project):
    one, two = make_issue(project), make_issue(project)
    upserts.update_rows(
        Issue,
        [{"pk": one.pk, "times_seen": 7}, {"pk": two.pk, "times_seen": 9}],
        ["times_seen"],
    )
    assert dict(Issue.objects.values_list("pk", "times_seen")) == {
        one.pk: 7,
        two.pk: 9,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("params_per_statement", [10_000, 4], ids=["one", "chunked"])
def test_it_finds_exactly_the_stored_keys_it_is_asked_about(
    project, monkeypatch, params_per_statement
):
    monkeypatch.setattr(upserts, "MAX_PARAMS_PER_STATEMENT", params_per_statement)
    one, two = make_issue(project), make_issue(project)
    for issue, identity in [(one, "id:a"), (one, "id:b"), (two, "id:c")]:
        IssueUser.objects.create(
            issue=issue, identity=identity, first_seen=HOUR, last_seen=HOUR
        )
    asked = [(one.pk, "id:a"), (two.pk, "id:a"), (two.pk, "id:c"), (one.pk, "id:z")]
    # (one, "id:b") is stored but not asked about; (two, "id:a") pairs an
    # asked issue with an asked identity and is not stored.
    found = upserts.existing_keys(IssueUser, asked, key=("issue", "identity"))
    assert found == {(one.pk, "id:a"), (two.pk, "id:c")}
    assert upserts.existing_keys(IssueUser, [], key=("issue", "identity")) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment",
    [
        HOUR,
        HOUR.replace(microsecond=120),
        # Another zone: stored as the same instant in UTC.
        HOUR.astimezone(dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    ],
    ids=["whole-second", "microseconds", "other-zone"],
)
def test_it_stores_datetimes_as_django_does(project, moment):
    ours, djangos = make_issue(project), make_issue(project)
    upserts.upsert_add(
        HourlyCount,
        [{"issue": ours.pk, "hour": moment, "count": 1}],
        key=("issue", "hour"),
        add=("count",),
    )
    HourlyCount.objects.create(issue=djangos, hour=moment, count=1)
    with connection.cursor() as cursor:
        cursor.execute(
            # As text: the drivers would turn both into equal datetimes.
            "SELECT issue_id, CAST(hour AS TEXT) FROM issues_hourlycount "
            "WHERE issue_id IN (%s, %s)",
            [ours.pk, djangos.pk],
        )
        stored = dict(cursor.fetchall())
    # On SQLite both are text, which MIN/MAX and range lookups compare.
    assert stored[ours.pk] == stored[djangos.pk]
    assert HourlyCount.objects.get(issue=ours).hour == moment


@pytest.mark.django_db
def test_its_errors_are_djangos_whichever_cursor_it_uses(project):
    row = {"project": project.pk, "event_id": "c" * 32, "received_at": HOUR}
    upserts.insert_rows(EventKey, [row])
    # Django's own exception, so callers (digest's retry rules) need not know
    # which driver cursor ran the statement.
    with pytest.raises(IntegrityError):
        upserts.insert_rows(EventKey, [row])


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="PostgreSQL rows go through COPY on psycopg's cursor, by design",
)
def test_its_statements_are_seen_by_whoever_watches_djangos_cursors(issue):
    rows = [{"issue": issue.pk, "hour": HOUR, "count": 1}]
    with CaptureQueriesContext(connection) as captured:
        upserts.upsert_add(HourlyCount, rows, key=("issue", "hour"), add=("count",))
    assert any("issues_hourlycount" in q["sql"] for q in captured.captured_queries)
    assert _counts(issue) == {HOUR: 1}
