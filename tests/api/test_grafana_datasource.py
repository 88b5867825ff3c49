"""Grafana's Sentry data source (grafana/sentry-datasource) against Fixtrail.

Each request below is built the way the plugin's Go client builds it
(pkg/sentry/{issues,events,events_stats,stats_v2,tags}.go at commit
cdb55dea50cf344f04cada3b3114b35af6cd032a): Go's ``url.Values.Encode``
sorts the parameters by name and escapes them like ``QueryEscape``; times
are ``2006-01-02T15:04:05`` (issues, events, stats_v2) or RFC 3339 with a
zone (events-stats); the limits are 10000 issues, 100 events and 10 top
events. Each answer is then checked against the Go types the plugin
decodes it into (a string where Go has ``string``, an integer where it has
``int64``, RFC 3339 where it has ``time.Time``), and its numbers against
what the issue list shows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.api.dashboard_data import END, START, make_dashboard
from tests.builders import make_issue, make_project

ORG = "acme"
# Go's time.Time accepts RFC 3339, with or without fractional seconds.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def go_encode(params: list[tuple[str, str]]) -> str:
    """Return ``params`` as Go's url.Values.Encode writes them: sorted by
    name (values of one name in the order added), QueryEscape'd."""
    ordered = sorted(params, key=lambda pair: pair[0])
    return "&".join(
        f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in ordered
    )


def naive(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def zoned(moment: dt.datetime) -> str:
    """Go's "2006-01-02T15:04:05Z07:00": Z for UTC, else the offset."""
    text = moment.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def go_interval(seconds: float) -> str:
    """FormatSentryInterval: hours above 2h, minutes above 2m, else seconds."""
    if seconds / 3600 > 2:
        return f"{round(seconds / 3600)}h"
    if seconds / 60 > 2:
        return f"{round(seconds / 60)}m"
    return f"{round(seconds)}s"


def issues_request(
    *, query: str, sort: str, projects: list[str], environments: list[str]
) -> str:
    params = [("query", query), ("start", naive(START)), ("end", naive(END))]
    if sort:
        params.append(("sort", sort))
    params.append(("limit", "10000"))
    params += [("project", p) for p in projects]
    params += [("environment", e) for e in environments]
    return f"/api/0/organizations/{ORG}/issues/?" + go_encode(params)


def events_request(
    *, query: str, fields: list[str], sort: str, limit: int, projects: list[str]
) -> str:
    params = [("query", query), ("start", naive(START)), ("end", naive(END))]
    if sort:
        params.append(("sort", sort))
    params.append(("per_page", str(limit if 1 <= limit <= 100 else 100)))
    params += [("field", f) for f in fields]
    params += [("project", p) for p in projects]
    return f"/api/0/organizations/{ORG}/events/?" + go_encode(params)


def events_stats_request(
    *,
    y_axis: list[str],
    groups: list[str],
    interval_seconds: float,
    start: dt.datetime = START,
    end: dt.datetime = END,
    sort: str = "",
    limit: int = 0,
    query: str = "",
) -> str:
    params = [
        ("query", query),
        ("start", zoned(start)),
        ("end", zoned(end)),
        ("interval", go_interval(interval_seconds)),
        ("partial", "1"),
        ("excludeOther", "1"),
    ]
    if sort:
        params.append(("sort", sort))
    params.append(("topEvents", str(limit if 1 <= limit <= 10 else 10)))
    params += [("field", f) for f in [*y_axis, *groups]]
    params += [("yAxis", y) for y in y_axis]
    return f"/api/0/organizations/{ORG}/events-stats/?" + go_encode(params)


def stats_v2_request(
    *, fields: list[str], categories: list[str], group_by: list[str], interval: str
) -> str:
    params = [("start", naive(START)), ("end", naive(END))]
    if interval:
        params.append(("interval", interval))
    params += [("category", c) for c in categories if c]
    params += [("field", f) for f in fields if f]
    params += [("groupBy", g) for g in group_by if g]
    return f"/api/0/organizations/{ORG}/stats_v2/?" + go_encode(params)


# What the plugin decodes ---------------------------------------------------


def check_time(value: Any) -> dt.datetime:
    assert isinstance(value, str) and RFC3339.fullmatch(value), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_strings(obj: dict, *names: str) -> None:
    for name in names:
        assert isinstance(obj.get(name, ""), str), (name, obj.get(name))


def check_bools(obj: dict, *names: str) -> None:
    for name in names:
        assert isinstance(obj[name], bool), (name, obj[name])


def check_int(value: Any) -> int:
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


def decode_issue(issue: dict) -> dict:
    """Check one issue against SentryIssue (pkg/sentry/issues.go)."""
    check_strings(
        issue,
        "id",
        "shortId",
        "title",
        "count",
        "status",
        "substatus",
        "level",
        "type",
        "platform",
        "culprit",
        "permalink",
    )
    assert issue.get("substatus") is None or isinstance(issue["substatus"], str)
    check_int(issue["userCount"])
    check_int(issue["numComments"])
    check_time(issue["firstSeen"])
    check_time(issue["lastSeen"])
    check_bools(issue, "hasSeen", "isUnhandled", "isPublic", "isBookmarked")
    check_bools(issue, "isSubscribed")
    check_strings(issue["project"], "id", "name", "slug", "platform")
    check_strings(issue["metadata"], "value", "type", "filename", "function")
    for nested in ("assignedTo", "subscriptionDetails"):
        assert issue[nested] is None or isinstance(issue[nested], dict)
    return issue


def decode_events_stats(body: dict) -> dict[str, list[tuple[int, float]]]:
    """Return {series name: [(time, count)]} as the plugin's framer
    (ExtractDataSets, ConvertEventStatsSetTo*) reads the answer."""

    def sets(prefix: str, raw: dict) -> dict[str, list]:
        if "data" in raw:
            return {prefix: raw["data"]}
        out: dict[str, list] = {}
        for key, child in raw.items():
            if key == "order" or not isinstance(child, dict):
                continue
            name = f"{prefix}: {key}" if prefix and key else key
            out.update(sets(name, child))
        return out

    series = {}
    for name, rows in sets("", body).items():
        points = []
        for row in rows:
            assert isinstance(row[0], int | float)
            count = row[1][0]["count"]
            assert count is None or isinstance(count, int | float)
            points.append((int(row[0]), count))
        series[name] = points
    return series


def decode_stats_v2(body: dict) -> dict:
    """Check the answer against StatsV2Response (pkg/sentry/stats_v2.go)."""
    check_time(body["start"])
    check_time(body["end"])
    for stamp in body["intervals"]:
        check_time(stamp)
    for group in body["groups"]:
        check_strings(group["by"], "reason", "category", "outcome")
        for name in ("sum(times_seen)", "sum(quantity)"):
            if name in group["totals"]:
                check_int(group["totals"][name])
                assert all(isinstance(n, int) for n in group["series"][name])
    return body


# The tests -----------------------------------------------------------------


@pytest.fixture
def dashboard(org, project):
    return make_dashboard(project, make_project(org, "frontend"))


def issue_list(alice_api, dashboard) -> dict[str, dict]:
    response = alice_api.get(
        issues_request(query="", sort="freq", projects=[], environments=[])
    )
    assert response.status_code == 200
    return {issue["shortId"]: decode_issue(issue) for issue in response.json()}


def test_it_answers_the_issues_query(alice_api, dashboard):
    url = issues_request(
        query="is:unresolved",
        sort="freq",
        projects=[str(dashboard.backend.pk)],
        environments=["production", "staging"],
    )
    response = alice_api.get(url)
    assert response.status_code == 200
    issues = [decode_issue(issue) for issue in response.json()]
    assert [(i["shortId"], i["count"], i["userCount"]) for i in issues] == [
        ("BACKEND-1", "4", 2),
        ("BACKEND-2", "2", 1),
    ]


def test_it_pages_the_issues_query_with_the_link_header(alice_api, project):
    now = START + dt.timedelta(minutes=30)
    for number in range(250):
        make_issue(project, title=f"Error {number}", first_seen=now, last_seen=now)
    url = issues_request(query="", sort="date", projects=[], environments=[])
    seen: list[str] = []
    pages = 0
    while url:
        response = alice_api.get(url)
        assert response.status_code == 200
        seen += [decode_issue(issue)["id"] for issue in response.json()]
        pages += 1
        # The next link, followed as the plugin's FetchWithPagination does.
        match = re.search(r'<([^>]*)>; rel="next"; results="true"', response["Link"])
        url = match.group(1).removeprefix("http://testserver") if match else ""
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250


def test_it_answers_the_events_query(alice_api, dashboard):
    issues = issue_list(alice_api, dashboard)
    url = events_request(
        query="",
        fields=["issue", "title", "count()", "count_unique(user)", "last_seen()"],
        sort="-count()",
        limit=0,
        projects=[],
    )
    response = alice_api.get(url)
    assert response.status_code == 200
    rows = response.json()["data"]
    # The same numbers as the issue list shows.
    assert {
        row["issue"]: (str(row["count()"]), row["count_unique(user)"]) for row in rows
    } == {
        short: (issue["count"], issue["userCount"]) for short, issue in issues.items()
    }
    for row in rows:
        assert check_time(row["last_seen()"]) == check_time(
            issues[row["issue"]]["lastSeen"]
        )


def test_it_answers_the_events_query_with_event_rows(alice_api, dashboard):
    url = events_request(
        query="level:error",
        fields=["id", "title", "project", "release", "user.display", "timestamp"],
        sort="-timestamp",
        limit=3,
        projects=[str(dashboard.backend.pk)],
    )
    response = alice_api.get(url)
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [(row["title"], row["release"], row["user.display"]) for row in rows] == [
        ("KeyError: 'sku-9'", "1.1", "dana@example.org"),
        ("ValueError: order not found", "1.0", ""),
        ("ValueError: order not found", "1.0", "1"),
    ]
    assert all(isinstance(row["id"], str) for row in rows)


def test_it_answers_the_events_stats_query(alice_api, dashboard):
    issues = issue_list(alice_api, dashboard)
    # A two-hour panel 1,000 pixels wide: Grafana's interval is 7.2 s.
    url = events_stats_request(y_axis=["count()"], groups=[], interval_seconds=7.2)
    response = alice_api.get(url)
    assert response.status_code == 200, response.content
    series = decode_events_stats(response.json())
    assert list(series) == [""]
    # The plugin rounds 7.2 s to 7 s; buckets align to the epoch.
    assert len(series[""]) == 1029
    total = sum(count for _, count in series[""])
    assert total == sum(int(issue["count"]) for issue in issues.values())


def test_it_answers_the_events_stats_query_grouped(alice_api, dashboard):
    issues = issue_list(alice_api, dashboard)
    url = events_stats_request(
        y_axis=["count()", "count_unique(user)"],
        groups=["issue"],
        interval_seconds=3600,
        sort="-count()",
        limit=0,
        start=START.astimezone(dt.timezone(dt.timedelta(hours=1))),
        end=END.astimezone(dt.timezone(dt.timedelta(hours=1))),
    )
    assert "start=2026-03-02T11%3A00%3A00%2B01%3A00" in url
    response = alice_api.get(url)
    assert response.status_code == 200, response.content
    series = decode_events_stats(response.json())
    assert set(series) == {
        f"{short}: {axis}"
        for short in issues
        for axis in ("count()", "count_unique(user)")
    }
    for short, issue in issues.items():
        counted = sum(count for _, count in series[f"{short}: count()"])
        assert str(counted) == issue["count"]
    assert [t for t, _ in series["BACKEND-1: count()"]] == [
        int(START.timestamp()),
        int(START.timestamp()) + 3600,
    ]


def test_it_answers_the_stats_query(alice_api, dashboard):
    url = stats_v2_request(
        fields=["sum(quantity)", "sum(times_seen)"],
        categories=["error", "attachment"],
        group_by=["outcome", "category"],
        interval="1h",
    )
    response = alice_api.get(url)
    assert response.status_code == 200, response.content
    body = decode_stats_v2(response.json())
    assert body["intervals"] == ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"]


def test_it_answers_the_tags_resource_until_the_last_page(alice_api, dashboard):
    url = f"/api/0/organizations/{ORG}/tags/"
    tags = []
    while url:
        response = alice_api.get(url)
        assert response.status_code == 200
        for tag in response.json():
            check_strings(tag, "key", "name")
            check_int(tag["totalValues"])
            tags.append(tag["key"])
        match = re.search(
            r'<([^>]*)>; rel="next"; results="true"', response.get("Link", "")
        )
        url = match.group(1) if match else ""
    assert {"release", "environment", "level", "user"} <= set(tags)


def test_it_answers_the_organizations_and_projects_resources(alice_api, dashboard):
    orgs = alice_api.get("/api/0/organizations/").json()
    assert [
        (org["slug"], check_time(org["dateCreated"]) is not None) for org in orgs
    ] == [("acme", True)]
    projects = alice_api.get(f"/api/0/organizations/{ORG}/projects/").json()
    assert sorted(project["slug"] for project in projects) == ["backend", "frontend"]
    for project in projects:
        check_strings(project, "id", "name", "slug")
    # The data source's environment variable lists these.
    assert {p["slug"]: p["environments"] for p in projects} == {
        "backend": ["production", "staging"],
        "frontend": ["production"],
    }
