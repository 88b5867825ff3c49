"""The requests GitLab's error tracking makes (GitLab's
lib/error_tracking/sentry_client), with a check of every field it reads.

GitLab is configured with the project's API URL,
``https://<fixtrail>/api/0/projects/acme/backend/``, and a token; it sends
``Content-Type: application/json``, ``Authorization: Bearer <token>`` and
never follows redirects. Fields GitLab reads with ``fetch`` (no default)
must be present; ids must be numeric strings.
"""

from __future__ import annotations

import re

import pytest

from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.models import Issue, Status
from tests.api.conftest import ApiClient, digest_events, issue_token, python_error

API_URL = "/api/0/projects/acme/backend"
NUMERIC = re.compile(r"\A\d+\Z")
LINK_PATTERN = re.compile(
    r'rel="(?P<direction>\w+)";\sresults="(?P<results>\w+)";\scursor="(?P<cursor>.+)"'
)


def gitlab_client(user) -> ApiClient:
    # GitLab's error tracking needs these scopes (its settings page says so).
    token = issue_token(user, ["project:read", "event:read", "event:write", "org:read"])
    return ApiClient(token, CONTENT_TYPE="application/json")


def gitlab_pagination(link: str) -> dict:
    """GitLab's PaginationParser.parse: split on commas, keep results=true."""
    pages = {}
    for part in link.split(","):
        match = LINK_PATTERN.search(part)
        if match and match["results"] == "true":
            pages[match["direction"]] = {"cursor": match["cursor"]}
    return pages


def read_list_issue(issue: dict) -> dict:
    """What GitLab's map_to_error reads of a listed issue."""
    assert NUMERIC.match(issue["id"])
    return {
        "id": issue["id"],
        "first_seen": issue["firstSeen"],
        "last_seen": issue["lastSeen"],
        "title": issue["title"],
        "type": issue["type"],
        "user_count": issue["userCount"],
        "count": issue["count"],
        "message": issue["metadata"]["value"],
        "culprit": issue["culprit"],
        "short_id": issue["shortId"],
        "status": issue["status"],
        "frequency": issue["stats"]["24h"],
        "project_id": issue["project"]["id"],
        "project_name": issue["project"]["name"],
        "project_slug": issue["project"]["slug"],
    }


@pytest.fixture
def issues(project):
    digest_events(project, [python_error(type_="KeyError", value="'sku'")] * 2)
    digest_events(project, [python_error(type_="ValueError", release="shop@1.4.0")])
    return {issue.type: issue for issue in Issue.objects.all()}


def test_it_lists_projects_with_their_organization(alice, project):
    response = gitlab_client(alice).get("/api/0/projects/")
    assert response.status_code == 200
    (item,) = response.json()
    assert (item["id"], item["name"], item["slug"], item["status"]) == (
        str(project.pk),
        "Backend",
        "backend",
        "active",
    )
    organization = item["organization"]
    assert (organization["name"], organization["id"], organization["slug"]) == (
        "Acme",
        str(project.organization_id),
        "acme",
    )


@pytest.mark.parametrize(
    ("sort", "sentry_sort"),
    [("frequency", "freq"), ("first_seen", "new"), ("last_seen", None)],
)
def test_it_lists_issues_as_gitlab_asks(alice, issues, sort, sentry_sort):
    params = {"query": "is:unresolved KeyError", "limit": "20"}
    if sentry_sort:
        params["sort"] = sentry_sort
    response = gitlab_client(alice).get(f"{API_URL}/issues/", params)
    assert response.status_code == 200
    (item,) = [read_list_issue(issue) for issue in response.json()]
    model = issues["KeyError"]
    assert item == {
        "id": str(model.pk),
        "first_seen": "2026-03-02T12:30:00.000000Z",
        "last_seen": "2026-03-02T12:30:00.000000Z",
        "title": "KeyError: 'sku'",
        "type": "error",
        "user_count": 1,
        "count": "2",
        "message": "'sku'",
        "culprit": model.culprit,
        "short_id": f"BACKEND-{model.short_id}",
        "status": "unresolved",
        "frequency": item["frequency"],
        "project_id": str(model.project_id),
        "project_name": "Backend",
        "project_slug": "backend",
    }
    assert len(item["frequency"]) == 24
    assert gitlab_pagination(response["Link"]) == {}


def test_it_pages_issues_with_cursors_gitlab_can_parse(alice, issues):
    client = gitlab_client(alice)
    first = client.get(f"{API_URL}/issues/", {"query": "is:unresolved", "limit": "1"})
    pages = gitlab_pagination(first["Link"])
    assert pages == {"next": {"cursor": "0:1:0"}}
    params = {"query": "is:unresolved", "limit": "1", "cursor": pages["next"]["cursor"]}
    second = client.get(f"{API_URL}/issues/", params)
    assert gitlab_pagination(second["Link"]) == {"previous": {"cursor": "0:0:1"}}
    assert {first.json()[0]["id"], second.json()[0]["id"]} == {
        str(i.pk) for i in issues.values()
    }


def test_it_shows_issue_details_with_every_field_gitlab_reads(alice, issues):
    model = issues["ValueError"]
    response = gitlab_client(alice).get(f"/api/0/issues/{model.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert NUMERIC.match(body["id"])
    assert read_list_issue(body)["message"] == "bad thing"
    # map_to_detailed_error's extra reads.
    assert (body["level"], body["logger"]) == ("error", None)
    assert body["firstRelease"]["version"] == "shop@1.4.0"
    assert body["firstRelease"]["shortVersion"] == "1.4.0"
    assert body["firstRelease"]["lastCommit"] is None
    assert body["lastRelease"]["version"] == "shop@1.4.0"
    assert body["annotations"] == []
    assert body["pluginIssues"] == []


def test_it_returns_the_latest_event_with_the_stack_trace_gitlab_shows(alice, issues):
    model = issues["KeyError"]
    response = gitlab_client(alice).get(f"/api/0/issues/{model.pk}/events/latest/")
    assert response.status_code == 200
    event = response.json()
    assert event["projectID"] == str(model.project_id)
    assert NUMERIC.match(event["groupID"])
    assert event["groupID"] == str(model.pk)
    assert event["dateReceived"] == "2026-03-02T12:30:00.000000Z"
    exception = next(e for e in event["entries"] if e["type"] == "exception")
    values = exception["data"]["values"]
    with_trace = next(v for v in values if v["stacktrace"])
    frames = with_trace["stacktrace"]["frames"]
    assert [(f["filename"], f["function"], f["lineNo"]) for f in frames] == [
        ("django/core/handlers/base.py", "_get_response", 197),
        ("app/views.py", "index", 12),
    ]
    assert frames[1]["context"][1] == [12, "    raise KeyError(''sku'')"]


@pytest.mark.parametrize("status", ["resolved", "ignored", "unresolved"])
def test_it_changes_the_status_as_gitlab_sends_it(alice, issues, status):
    model = issues["KeyError"]
    response = gitlab_client(alice).put_json(
        f"/api/0/issues/{model.pk}/", {"status": status}
    )
    assert response.status_code == 200
    assert response.json()["status"] == status
    model.refresh_from_db()
    assert model.status == Status(status)


def test_it_lists_no_repositories_so_gitlab_uses_the_plugin_link(alice, issues):
    response = gitlab_client(alice).get("/api/0/organizations/acme/repos/")
    assert response.status_code == 200
    assert response.json() == []


def test_it_records_the_gitlab_issue_gitlab_links(alice, issues):
    model = issues["KeyError"]
    client = gitlab_client(alice)
    response = client.post_json(
        f"/api/0/issues/{model.pk}/plugins/gitlab/link/", {"issue_id": 12}
    )
    assert response.status_code == 200
    assert response.json() == {
        "message": "Successfully linked issue.",
        "id": "12",
        "label": "GL-#12",
        "link": None,
    }
    link = ExternalIssueLink.objects.get()
    assert (link.issue, link.provider, link.external_id, link.url, link.created_by) == (
        model,
        "gitlab",
        "12",
        "",
        alice,
    )
    details = client.get(f"/api/0/issues/{model.pk}/").json()
    assert details["pluginIssues"] == [
        {
            "id": "gitlab",
            "title": "GitLab",
            "issue": {"issue_id": "12", "url": None, "label": "GL-#12"},
        }
    ]


def test_it_shows_a_linked_url_where_gitlab_looks_for_it(alice, issues):
    model = issues["KeyError"]
    client = gitlab_client(alice)
    url = "https://gitlab.example.com/shop/backend/-/issues/12"
    client.post_json(
        f"/api/0/issues/{model.pk}/plugins/gitlab/link/", {"issue_id": "12", "url": url}
    )
    details = client.get(f"/api/0/issues/{model.pk}/").json()
    assert details["pluginIssues"][0]["issue"]["url"] == url
    assert details["annotations"] == [f'<a href="{url}">GL-#12</a>']
    listed = client.get(f"{API_URL}/issues/", {"query": "KeyError"}).json()
    assert listed[0]["annotations"] == details["annotations"]


def test_it_links_the_same_gitlab_issue_once(alice, issues):
    model = issues["KeyError"]
    client = gitlab_client(alice)
    for _ in range(2):
        client.post_json(
            f"/api/0/issues/{model.pk}/plugins/gitlab/link/", {"issue_id": 12}
        )
    assert ExternalIssueLink.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "issue_id must be the GitLab issue's number."),
        ({"issue_id": "twelve"}, "issue_id must be the GitLab issue's number."),
        ({"issue_id": True}, "issue_id must be the GitLab issue's number."),
        (
            {"issue_id": 12, "url": "javascript:alert(1)"},
            "url must be an http(s) address.",
        ),
    ],
)
def test_it_refuses_bad_links(alice, issues, body, detail):
    model = issues["KeyError"]
    response = gitlab_client(alice).post_json(
        f"/api/0/issues/{model.pk}/plugins/gitlab/link/", body
    )
    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert ExternalIssueLink.objects.count() == 0


def test_it_refuses_links_from_viewers(vera, issues):
    model = issues["KeyError"]
    response = gitlab_client(vera).post_json(
        f"/api/0/issues/{model.pk}/plugins/gitlab/link/", {"issue_id": 12}
    )
    assert response.status_code == 403
