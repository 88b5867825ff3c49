"""``/api/0/organizations/{org}/events/``: Discover tables of error events
the real Python SDK sent."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient, issue_token
from tests.api.dashboard_data import END, START, make_dashboard
from tests.builders import make_project

EVENTS = "/api/0/organizations/acme/events/"
RANGE = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.fixture
def dashboard(org, project):
    return make_dashboard(project, make_project(org, "frontend"))


def table(api, **params) -> list[dict]:
    response = api.get(EVENTS, {**RANGE, **params})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_it_lists_events_newest_first(alice_api, dashboard):
    rows = table(
        alice_api,
        field=["title", "issue", "project", "release", "environment", "level"],
    )
    assert rows[:2] == [
        {
            "title": "KeyError: 'sku-9'",
            "issue": "BACKEND-2",
            "project": "backend",
            "release": "1.1",
            "environment": "staging",
            "level": "error",
        },
        {
            "title": "Checkout took too long",
            "issue": "FRONTEND-1",
            "project": "frontend",
            "release": "2.0",
            "environment": "production",
            "level": "warning",
        },
    ]
    assert len(rows) == 7


def test_it_shows_event_ids_times_users_and_types(alice_api, dashboard):
    rows = table(
        alice_api, field=["id", "timestamp", "user.display", "user", "event.type"]
    )
    assert [row["timestamp"] for row in rows] == [
        "2026-03-02T11:50:00.000000Z",
        "2026-03-02T11:30:00.000000Z",
        "2026-03-02T11:20:00.000000Z",
        "2026-03-02T11:10:00.000000Z",
        "2026-03-02T10:50:00.000000Z",
        "2026-03-02T10:40:00.000000Z",
        "2026-03-02T10:05:00.000000Z",
    ]
    assert [row["user.display"] for row in rows] == [
        "dana@example.org",
        "",
        "",
        "1",
        "dana@example.org",
        "2",
        "1",
    ]
    assert rows[0]["user"] == "email:dana@example.org"
    assert [row["event.type"] for row in rows[:2]] == ["error", "default"]
    assert all(len(row["id"]) == 32 for row in rows)


def test_it_groups_by_the_plain_fields_when_functions_are_asked(alice_api, dashboard):
    rows = table(
        alice_api,
        field=["issue", "title", "count()", "count_unique(user)", "last_seen()"],
        sort="-count()",
    )
    assert rows == [
        {
            "issue": "BACKEND-1",
            "title": "ValueError: order not found",
            "count()": 4,
            "count_unique(user)": 2,
            "last_seen()": "2026-03-02T11:20:00.000000Z",
        },
        {
            "issue": "BACKEND-2",
            "title": "KeyError: 'sku-9'",
            "count()": 2,
            "count_unique(user)": 1,
            "last_seen()": "2026-03-02T11:50:00.000000Z",
        },
        {
            "issue": "FRONTEND-1",
            "title": "Checkout took too long",
            "count()": 1,
            "count_unique(user)": 0,
            "last_seen()": "2026-03-02T11:30:00.000000Z",
        },
    ]


def test_it_sends_the_type_of_each_field(alice_api, dashboard):
    response = alice_api.get(
        EVENTS, {**RANGE, "field": ["project", "count()", "last_seen()", "epm()"]}
    )
    body = response.json()
    assert body["meta"]["fields"] == {
        "project": "string",
        "count()": "integer",
        "last_seen()": "date",
        "epm()": "rate",
    }
    assert body["meta"]["units"]["epm()"] == "1/minute"
    # Six events in 120 minutes.
    assert body["data"][0] == {
        "project": "backend",
        "count()": 6,
        "last_seen()": "2026-03-02T11:50:00.000000Z",
        "epm()": 0.05,
    }


def test_it_counts_everything_in_one_row_without_plain_fields(alice_api, dashboard):
    rows = table(alice_api, field=["count()", "count_unique(user)"])
    assert rows == [{"count()": 7, "count_unique(user)": 3}]


def test_it_filters_with_the_search_syntax(alice_api, dashboard):
    rows = table(
        alice_api,
        field=["issue", "count()"],
        query="is:unresolved !environment:staging level:error",
    )
    assert rows == [{"issue": "BACKEND-1", "count()": 4}]


def test_it_filters_by_issue_project_and_event_type(alice_api, dashboard):
    assert table(alice_api, field=["count()"], query="issue:BACKEND-2") == [
        {"count()": 2}
    ]
    assert table(alice_api, field=["count()"], query="project:frontend") == [
        {"count()": 1}
    ]
    assert table(alice_api, field=["count()"], query="event.type:error") == [
        {"count()": 6}
    ]


def test_it_filters_by_project_and_environment_parameters(alice_api, dashboard):
    rows = table(
        alice_api,
        field=["title", "count()"],
        project=[str(dashboard.backend.pk)],
        environment=["production"],
    )
    assert rows == [{"title": "ValueError: order not found", "count()": 4}]


def test_it_keeps_to_the_time_range(alice_api, dashboard):
    rows = table(
        alice_api,
        field=["count()"],
        start="2026-03-02T11:00:00",
        end="2026-03-02T11:25:00",
    )
    assert rows == [{"count()": 2}]


def test_it_pages_with_per_page_and_the_link_header(alice_api, dashboard):
    first = alice_api.get(EVENTS, {**RANGE, "field": "timestamp", "per_page": "5"})
    assert len(first.json()["data"]) == 5
    assert 'rel="next"; results="true"; cursor="0:5:0"' in first["Link"]
    second = alice_api.get(
        EVENTS, {**RANGE, "field": "timestamp", "per_page": "5", "cursor": "0:5:0"}
    )
    assert [row["timestamp"] for row in second.json()["data"]] == [
        "2026-03-02T10:40:00.000000Z",
        "2026-03-02T10:05:00.000000Z",
    ]
    assert 'rel="next"; results="false"' in second["Link"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "No columns selected: add at least one field."),
        (
            {"field": "failure_rate()"},
            '"failure_rate()" is not supported: Fixtrail stores error events, not '
            "transactions. Use one of: count(), count_unique(column), last_seen(), "
            "first_seen(), epm(), eps().",
        ),
        (
            {"field": ["title", "count()"], "sort": "-last_seen()"},
            'Cannot sort by "last_seen()": it is not one of the fields.',
        ),
        (
            {"field": "title", "query": "browser:Chrome"},
            'Events cannot be searched by the tag "browser": event tags are kept '
            "inside each stored event. Use release:, environment:, level:, user:, "
            "issue:, project:, event.type:, is: and free text, or search the issue "
            "list by tag.",
        ),
        (
            {"field": "title", "query": 'title:"open'},
            'A quote is not closed in: title:"open',
        ),
        (
            {"field": "title", "start": "yesterday"},
            "Invalid start parameter: use ISO 8601, e.g. 2024-05-01T00:00:00Z.",
        ),
        (
            {"field": "title", "start": END.isoformat(), "end": START.isoformat()},
            "end must be after start.",
        ),
        (
            {"field": "title", "per_page": "500"},
            "Invalid per_page value. Cannot exceed 100.",
        ),
    ],
)
def test_it_refuses_what_it_cannot_answer_with_a_message(
    alice_api, org, params, detail
):
    response = alice_api.get(
        EVENTS, {**RANGE, **params} if "start" not in params else params
    )
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_it_does_not_show_other_organizations_events(charlie_api, dashboard):
    response = charlie_api.get(EVENTS, {**RANGE, "field": "title"})
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_leaves_out_projects_of_other_organizations(
    charlie_api, dashboard, charlies_project
):
    response = charlie_api.get(
        "/api/0/organizations/umbrella/events/",
        {**RANGE, "field": "count()", "project": str(dashboard.backend.pk)},
    )
    assert response.json()["data"] == [{"count()": 0}]


def test_it_lets_viewers_read(vera_api, dashboard):
    assert table(vera_api, field=["count()"]) == [{"count()": 7}]


def test_it_needs_the_event_read_scope(alice, dashboard):
    api = ApiClient(issue_token(alice, ["org:read", "project:read"]))
    response = api.get(EVENTS, {**RANGE, "field": "title"})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action. "
        "This needs a token with the event:read scope."
    }


def test_it_needs_a_token(client, dashboard):
    response = client.get(EVENTS, {**RANGE, "field": "title"})
    assert response.status_code == 401


def test_it_refuses_a_project_id_beyond_64_bits(alice_api, org):
    response = alice_api.get(
        EVENTS, {**RANGE, "field": "title", "project": "9223372036854775808"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid project parameter: ids are numbers."}
