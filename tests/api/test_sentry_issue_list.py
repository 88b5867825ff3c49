"""Issue lists of a project and of an organization: search, sort, stats,
filters and cursor pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fixtrail.issues.models import Issue, Status
from tests.api.conftest import T0, digest_events, python_error
from tests.builders import make_issue, make_project

ISSUES = "/api/0/projects/acme/backend/issues/"


@pytest.fixture
def three_issues(project):
    """KeyError (3 events, newest), TypeError (2 events), ValueError (1, oldest)."""
    hour = dt.timedelta(hours=1)
    digest_events(
        project, [python_error(type_="ValueError")], received_at=T0 - 3 * hour
    )
    digest_events(
        project, [python_error(type_="TypeError")] * 2, received_at=T0 - 2 * hour
    )
    digest_events(
        project,
        [python_error(type_="KeyError", environment="staging")] * 3,
        received_at=T0,
    )
    return {issue.type: issue for issue in Issue.objects.all()}


def titles(response) -> list[str]:
    return [issue["title"].split(":")[0] for issue in response.json()]


def test_it_lists_unresolved_issues_by_last_seen(alice_api, three_issues):
    three_issues["TypeError"].status = Status.RESOLVED
    three_issues["TypeError"].save(update_fields=["status"])
    response = alice_api.get(ISSUES)
    assert response.status_code == 200
    assert titles(response) == ["KeyError", "ValueError"]


def test_it_lists_every_issue_for_an_empty_query(alice_api, three_issues):
    three_issues["TypeError"].status = Status.RESOLVED
    three_issues["TypeError"].save(update_fields=["status"])
    response = alice_api.get(ISSUES, {"query": ""})
    assert titles(response) == ["KeyError", "TypeError", "ValueError"]


def test_it_searches_with_the_ui_syntax(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"query": "is:unresolved TypeError"})
    assert titles(response) == ["TypeError"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["KeyError", "TypeError", "ValueError"]),
        ("new", ["KeyError", "TypeError", "ValueError"]),
        ("freq", ["KeyError", "TypeError", "ValueError"]),
        ("", ["KeyError", "TypeError", "ValueError"]),
    ],
)
def test_it_sorts(alice_api, three_issues, sort, expected):
    assert titles(alice_api.get(ISSUES, {"sort": sort})) == expected


def test_it_sorts_by_frequency_not_recency(alice_api, project, three_issues):
    earlier = T0 - dt.timedelta(hours=4)
    digest_events(project, [python_error(type_="ValueError")] * 5, received_at=earlier)
    assert titles(alice_api.get(ISSUES, {"sort": "freq"})) == [
        "ValueError",
        "KeyError",
        "TypeError",
    ]
    assert titles(alice_api.get(ISSUES, {"sort": "date"})) == [
        "KeyError",
        "TypeError",
        "ValueError",
    ]


def test_it_pages_with_the_link_header(alice_api, three_issues):
    first = alice_api.get(ISSUES, {"limit": "2"})
    assert titles(first) == ["KeyError", "TypeError"]
    assert first["Link"] == (
        "<http://testserver/api/0/projects/acme/backend/issues/?limit=2&cursor=0:0:1>; "
        'rel="previous"; results="false"; cursor="0:0:1", '
        "<http://testserver/api/0/projects/acme/backend/issues/?limit=2&cursor=0:2:0>; "
        'rel="next"; results="true"; cursor="0:2:0"'
    )
    second = alice_api.get(ISSUES, {"limit": "2", "cursor": "0:2:0"})
    assert titles(second) == ["ValueError"]
    assert second["Link"] == (
        "<http://testserver/api/0/projects/acme/backend/issues/?limit=2&cursor=0:0:1>; "
        'rel="previous"; results="true"; cursor="0:0:1", '
        "<http://testserver/api/0/projects/acme/backend/issues/?limit=2&cursor=0:4:0>; "
        'rel="next"; results="false"; cursor="0:4:0"'
    )


def test_it_gives_24_hourly_buckets_of_stats(alice_api, three_issues, frozen_now):
    response = alice_api.get(ISSUES, {"query": "KeyError"})
    (issue,) = response.json()
    stats = issue["stats"]["24h"]
    first_hour = dt.datetime(2026, 3, 1, 14, tzinfo=dt.UTC)
    assert [bucket[0] for bucket in stats] == [
        int((first_hour + dt.timedelta(hours=i)).timestamp()) for i in range(24)
    ]
    # The three events happened at 12:30, in the 12:00 bucket.
    assert [bucket[1] for bucket in stats] == [0] * 22 + [3, 0]


def test_it_gives_14_daily_buckets_of_stats(alice_api, three_issues, frozen_now):
    response = alice_api.get(ISSUES, {"query": "TypeError", "statsPeriod": "14d"})
    stats = response.json()[0]["stats"]
    assert list(stats) == ["14d"]
    assert stats["14d"][0][0] == int(
        dt.datetime(2026, 2, 17, tzinfo=dt.UTC).timestamp()
    )
    assert [bucket[1] for bucket in stats["14d"]] == [0] * 13 + [2]


def test_it_leaves_stats_out_for_an_empty_period(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"statsPeriod": ""})
    assert "stats" not in response.json()[0]


def test_it_refuses_an_unknown_stats_period(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"statsPeriod": "7d"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"
    }


def test_it_refuses_a_bad_query_with_the_search_message(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"query": "is:sleeping"})
    assert response.status_code == 400
    assert list(response.json()) == ["detail"]
    assert "sleeping" in response.json()["detail"]


def test_it_refuses_an_unknown_sort(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"sort": "trends"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": 'Unknown sort "trends". '
        "Use one of: date, new, freq, user, priority, inbox."
    }


def test_it_filters_by_environment(alice_api, three_issues):
    assert titles(alice_api.get(ISSUES, {"environment": "staging"})) == ["KeyError"]


def test_it_filters_by_time_range(alice_api, three_issues):
    start = (T0 - dt.timedelta(hours=2, minutes=30)).isoformat()
    end = (T0 - dt.timedelta(hours=1)).isoformat()
    response = alice_api.get(ISSUES, {"start": start, "end": end})
    assert titles(response) == ["TypeError"]


def test_it_refuses_a_malformed_start(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"start": "yesterday"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid start parameter: use ISO 8601, e.g. 2024-05-01T00:00:00Z."
    }


def test_it_refuses_a_malformed_cursor(alice_api, three_issues):
    response = alice_api.get(ISSUES, {"cursor": "n:123"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid cursor parameter."}


def test_it_lists_an_organizations_issues_across_projects(alice_api, org, three_issues):
    other = make_project(org, "frontend")
    digest_events(
        other,
        [python_error(type_="RangeError")],
        received_at=T0 + dt.timedelta(minutes=5),
    )
    response = alice_api.get("/api/0/organizations/acme/issues/")
    assert titles(response) == ["RangeError", "KeyError", "TypeError", "ValueError"]
    narrowed = alice_api.get(
        "/api/0/organizations/acme/issues/", {"project": str(other.pk)}
    )
    assert titles(narrowed) == ["RangeError"]
    everything = alice_api.get("/api/0/organizations/acme/issues/", {"project": "-1"})
    assert len(everything.json()) == 4


def test_it_does_not_list_issues_of_other_organizations(
    alice_api, three_issues, charlies_project
):
    digest_events(charlies_project, [python_error(type_="SecretError")])
    response = alice_api.get(
        "/api/0/organizations/acme/issues/", {"project": str(charlies_project.pk)}
    )
    assert response.json() == []


def test_it_shows_issue_fields_as_sentry_types_them(
    alice_api, three_issues, frozen_now
):
    (issue,) = alice_api.get(ISSUES, {"query": "TypeError"}).json()
    model = three_issues["TypeError"]
    assert issue["id"] == str(model.pk)
    assert issue["shortId"] == f"BACKEND-{model.short_id}"
    assert issue["count"] == "2"
    assert issue["userCount"] == 1
    assert issue["firstSeen"] == "2026-03-02T10:30:00.000000Z"
    assert issue["lastSeen"] == "2026-03-02T10:30:00.000000Z"
    assert issue["permalink"] == f"http://127.0.0.1:8000/issues/{model.pk}/"
    assert issue["project"] == {
        "id": str(model.project_id),
        "name": "Backend",
        "slug": "backend",
        "platform": "python",
    }
    assert issue["metadata"] == {
        "type": "TypeError",
        "value": "bad thing",
        "filename": "app/views.py",
        "function": "index",
    }
    assert (issue["type"], issue["level"], issue["status"]) == (
        "error",
        "error",
        "unresolved",
    )
    assert issue["statusDetails"] == {}
    assert issue["assignedTo"] is None
    assert issue["annotations"] == []


def test_it_costs_the_same_queries_for_a_page_of_any_length(alice_api, project):
    def queries_for_list() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = alice_api.get(ISSUES, {"query": ""})
        return len(response.json()), len(captured.captured_queries)

    make_issue(project, status=Status.RESOLVED)
    alice_api.get(ISSUES)  # the token's first use records itself once
    one, queries = queries_for_list()
    for status in (Status.RESOLVED, Status.IGNORED, Status.UNRESOLVED) * 2:
        make_issue(project, status=status)
    assert queries_for_list() == (7, queries)
    assert one == 1
