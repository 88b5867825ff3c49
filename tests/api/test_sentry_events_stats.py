"""``/api/0/organizations/{org}/events-stats/``: error events per interval,
per top group, from events the real Python SDK sent."""

from __future__ import annotations

import pytest

from fixtrail.events.models import Event
from tests.api.conftest import ApiClient, issue_token
from tests.api.dashboard_data import END, START, make_dashboard
from tests.builders import make_project

STATS = "/api/0/organizations/acme/events-stats/"
BASE = {
    "start": "2026-03-02T10:00:00Z",
    "end": "2026-03-02T12:00:00Z",
    "interval": "1h",
    "partial": "1",
}
H10 = int(START.timestamp())
H11 = H10 + 3600


@pytest.fixture
def dashboard(org, project):
    return make_dashboard(project, make_project(org, "frontend"))


def stats(api, **params) -> dict:
    response = api.get(STATS, {**BASE, **params})
    assert response.status_code == 200, response.content
    return response.json()


def counts(series: dict) -> list[tuple[int, int]]:
    return [(start, values[0]["count"]) for start, values in series["data"]]


def test_it_counts_events_per_interval(alice_api, dashboard):
    body = stats(alice_api, yAxis="count()")
    assert counts(body) == [(H10, 3), (H11, 4)]
    assert (body["start"], body["end"]) == (H10, int(END.timestamp()))
    assert body["isMetricsData"] is False
    assert body["meta"]["fields"] == {"time": "date", "count()": "integer"}


def test_it_counts_unique_users(alice_api, dashboard):
    body = stats(alice_api, yAxis="count_unique(user)")
    # 10:00: users 1, 2 and dana; 11:00: user 1 and dana.
    assert counts(body) == [(H10, 3), (H11, 2)]


def test_it_puts_each_axis_under_its_name(alice_api, dashboard):
    body = stats(alice_api, yAxis=["count()", "count_unique(user)"])
    assert set(body) == {"count()", "count_unique(user)"}
    assert counts(body["count()"]) == [(H10, 3), (H11, 4)]
    assert counts(body["count_unique(user)"]) == [(H10, 3), (H11, 2)]
    assert (body["count()"]["order"], body["count_unique(user)"]["order"]) == (0, 1)


def test_it_buckets_by_the_interval(alice_api, dashboard):
    body = stats(alice_api, yAxis="count()", interval="30m")
    assert counts(body) == [(H10, 1), (H10 + 1800, 2), (H11, 2), (H11 + 1800, 2)]


def test_it_leaves_out_partial_buckets_unless_asked(alice_api, dashboard):
    body = stats(alice_api, yAxis="count()", start="2026-03-02T10:17:00Z", partial="0")
    assert counts(body) == [(H11, 4)]
    with_partial = stats(alice_api, yAxis="count()", start="2026-03-02T10:17:00Z")
    assert counts(with_partial) == [(H10, 3), (H11, 4)]


def test_it_reads_start_and_end_with_a_zone(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis="count()",
        start="2026-03-02T11:00:00+01:00",
        end="2026-03-02T13:00:00+01:00",
    )
    assert counts(body) == [(H10, 3), (H11, 4)]


def test_it_splits_the_top_groups(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis="count()",
        field=["count()", "project"],
        topEvents="10",
        excludeOther="1",
        sort="-count()",
    )
    assert list(body) == ["backend", "frontend"]
    assert counts(body["backend"]) == [(H10, 3), (H11, 3)]
    assert counts(body["frontend"]) == [(H10, 0), (H11, 1)]
    assert (body["backend"]["order"], body["frontend"]["order"]) == (0, 1)


def test_it_names_groups_by_their_values_joined(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis="count()",
        field=["count()", "issue", "release"],
        topEvents="2",
        excludeOther="1",
    )
    assert list(body) == ["BACKEND-1,1.0", "BACKEND-2,1.1"]
    assert counts(body["BACKEND-2,1.1"]) == [(H10, 1), (H11, 1)]


def test_it_counts_the_rest_as_other(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis="count()",
        field=["count()", "issue"],
        topEvents="1",
        excludeOther="0",
    )
    assert list(body) == ["BACKEND-1", "Other"]
    assert counts(body["BACKEND-1"]) == [(H10, 2), (H11, 2)]
    assert counts(body["Other"]) == [(H10, 1), (H11, 2)]
    assert body["Other"]["order"] == 1


def test_it_nests_axes_inside_groups(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis=["count()", "count_unique(user)"],
        field=["count()", "count_unique(user)", "environment"],
        topEvents="5",
        excludeOther="1",
        sort="-count_unique(user)",
    )
    assert list(body) == ["production", "staging"]
    production = body["production"]
    assert production["order"] == 0
    assert counts(production["count()"]) == [(H10, 2), (H11, 3)]
    assert counts(production["count_unique(user)"]) == [(H10, 2), (H11, 1)]


def test_it_answers_a_plain_series_when_nothing_is_grouped(alice_api, dashboard):
    # The data source always sends topEvents, with or without groups.
    body = stats(
        alice_api, yAxis="count()", field="count()", topEvents="10", excludeOther="1"
    )
    assert counts(body) == [(H10, 3), (H11, 4)]


def test_it_answers_zeros_when_no_group_has_events(alice_api, dashboard):
    body = stats(
        alice_api,
        yAxis="count()",
        field=["count()", "project"],
        topEvents="10",
        start="2026-03-01T10:00:00Z",
        end="2026-03-01T12:00:00Z",
    )
    assert [values[0]["count"] for _, values in body["data"]] == [0, 0]


def test_it_filters_with_the_query_and_parameters(alice_api, dashboard):
    assert counts(stats(alice_api, yAxis="count()", query="level:warning")) == [
        (H10, 0),
        (H11, 1),
    ]
    assert counts(stats(alice_api, yAxis="count()", environment="staging")) == [
        (H10, 1),
        (H11, 1),
    ]
    assert counts(
        stats(alice_api, yAxis="count()", project=str(dashboard.frontend.pk))
    ) == [(H10, 0), (H11, 1)]


def test_it_answers_from_hourly_counts_when_the_query_allows(alice_api, dashboard):
    # Retention may delete events and keep their hourly counts: whatever
    # the hourly counts can answer stays answered.
    Event.objects.all().delete()
    assert counts(stats(alice_api, yAxis="count()", query="is:unresolved")) == [
        (H10, 3),
        (H11, 4),
    ]
    grouped = stats(
        alice_api, yAxis="count()", field=["count()", "issue"], topEvents="1"
    )
    assert counts(grouped["BACKEND-1"]) == [(H10, 2), (H11, 2)]
    # An event-row term needs the events themselves.
    assert counts(stats(alice_api, yAxis="count()", query="release:1.0")) == [
        (H10, 0),
        (H11, 0),
    ]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        (
            {"yAxis": "p95(transaction.duration)"},
            '"p95(transaction.duration)" is not supported: Fixtrail stores error '
            "events, not transactions. Use one of: count(), count_unique(column), "
            "last_seen(), first_seen(), epm(), eps().",
        ),
        (
            {"yAxis": "last_seen()"},
            'yAxis "last_seen()" is not supported: use count() or '
            "count_unique(column).",
        ),
        (
            {"interval": "1fortnight"},
            'Invalid interval "1fortnight": use a number and one of the units s, m, '
            "h, d, w, like 1h.",
        ),
        ({"topEvents": "11"}, "topEvents must be a number from 0 to 10, not 11."),
        (
            {"interval": "1s", "start": "2026-01-01T00:00:00Z"},
            "Your interval and date range would create too many results. Use a "
            "larger interval, or a smaller date range.",
        ),
        (
            {"field": ["count()", "browser"], "topEvents": "5"},
            'Unknown field "browser". Columns are: id, title, message, issue, '
            "issue.id, project, project.name, project.id, release, environment, "
            "level, user, user.display, timestamp, culprit, platform, event.type; "
            "functions are: count(), count_unique(column), last_seen(), "
            "first_seen(), epm(), eps().",
        ),
    ],
)
def test_it_refuses_what_it_cannot_answer_with_a_message(
    alice_api, org, params, detail
):
    response = alice_api.get(STATS, {**BASE, **params})
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_it_does_not_show_other_organizations_events(charlie_api, dashboard):
    response = charlie_api.get(STATS, BASE)
    assert response.status_code == 404


def test_it_needs_the_event_read_scope(alice, dashboard):
    api = ApiClient(issue_token(alice, ["org:read"]))
    response = api.get(STATS, BASE)
    assert response.status_code == 403
    assert response.json()["detail"].endswith("the event:read scope.")
