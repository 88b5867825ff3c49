"""The permission matrix: every endpoint of both APIs without a token, with
a token that lacks the scope, with another organization's token, and with
a role below the one the endpoint needs."""

from __future__ import annotations

import pytest

from fixtrail.accounts.models import ApiToken
from fixtrail.issues.models import Issue, SavedSearch
from tests.api.conftest import ApiClient, digest_events, issue_token, python_error

# (method, path, body, scope, least role). Role None: the endpoint is about
# the token's user, not an organization. Placeholders are filled per test.
ISSUE_PATHS = [
    ("GET", "", None, "event:read", "viewer"),
    ("PUT", "", {"status": "resolved"}, "event:write", "member"),
    ("DELETE", "", None, "event:admin", "member"),
    ("GET", "events/", None, "event:read", "viewer"),
    ("GET", "events/latest/", None, "event:read", "viewer"),
    ("GET", "events/oldest/", None, "event:read", "viewer"),
    ("GET", "events/recommended/", None, "event:read", "viewer"),
    ("GET", "events/{event}/", None, "event:read", "viewer"),
    ("GET", "tags/", None, "event:read", "viewer"),
    ("GET", "tags/level/", None, "event:read", "viewer"),
    ("GET", "tags/level/values/", None, "event:read", "viewer"),
    ("POST", "plugins/gitlab/link/", {"issue_id": 7}, "event:write", "member"),
]
SENTRY = [
    ("GET", "/api/0/organizations/", None, "org:read", None),
    ("GET", "/api/0/projects/", None, "project:read", None),
    ("GET", "/api/0/organizations/acme/", None, "org:read", "viewer"),
    ("GET", "/api/0/organizations/acme/projects/", None, "project:read", "viewer"),
    ("GET", "/api/0/organizations/acme/repos/", None, "org:read", "viewer"),
    ("GET", "/api/0/organizations/acme/issues/", None, "event:read", "viewer"),
    (
        "PUT",
        "/api/0/organizations/acme/issues/?id={issue}",
        {"status": "resolved"},
        "event:write",
        "member",
    ),
    (
        "DELETE",
        "/api/0/organizations/acme/issues/?id={issue}",
        None,
        "event:admin",
        "member",
    ),
    ("GET", "/api/0/projects/acme/backend/", None, "project:read", "viewer"),
    ("GET", "/api/0/projects/acme/backend/keys/", None, "project:read", "viewer"),
    ("GET", "/api/0/projects/acme/backend/issues/", None, "event:read", "viewer"),
    (
        "PUT",
        "/api/0/projects/acme/backend/issues/?id={issue}",
        {"status": "resolved"},
        "event:write",
        "member",
    ),
    (
        "DELETE",
        "/api/0/projects/acme/backend/issues/?id={issue}",
        None,
        "event:admin",
        "member",
    ),
    ("GET", "/api/0/projects/acme/backend/events/", None, "event:read", "viewer"),
    (
        "GET",
        "/api/0/projects/acme/backend/events/{event}/",
        None,
        "event:read",
        "viewer",
    ),
    *[(m, "/api/0/issues/{issue}/" + p, b, s, r) for m, p, b, s, r in ISSUE_PATHS],
    *[
        (m, "/api/0/organizations/acme/issues/{issue}/" + p, b, s, r)
        for m, p, b, s, r in ISSUE_PATHS
    ],
]
V1 = [
    ("GET", "/api/v1/organizations", None, "org:read", None),
    ("GET", "/api/v1/organizations/acme/members", None, "member:read", "viewer"),
    ("GET", "/api/v1/organizations/acme/projects", None, "project:read", "viewer"),
    (
        "POST",
        "/api/v1/organizations/acme/projects",
        {"name": "New"},
        "project:write",
        "admin",
    ),
    ("GET", "/api/v1/projects/acme/backend", None, "project:read", "viewer"),
    (
        "PATCH",
        "/api/v1/projects/acme/backend",
        {"retention_days": 30},
        "project:write",
        "admin",
    ),
    ("GET", "/api/v1/projects/acme/backend/keys", None, "project:read", "viewer"),
    (
        "POST",
        "/api/v1/projects/acme/backend/keys",
        {"label": "x"},
        "project:write",
        "admin",
    ),
    (
        "PATCH",
        "/api/v1/projects/acme/backend/keys/{key}",
        {"is_active": False},
        "project:write",
        "admin",
    ),
    ("GET", "/api/v1/projects/acme/backend/issues", None, "event:read", "viewer"),
    ("GET", "/api/v1/organizations/acme/issues", None, "event:read", "viewer"),
    (
        "POST",
        "/api/v1/organizations/acme/issues/bulk",
        {"action": "resolve", "ids": ["{issue}"]},
        "event:write",
        "member",
    ),
    ("GET", "/api/v1/issues/{issue}", None, "event:read", "viewer"),
    ("GET", "/api/v1/issues/{issue}/activity", None, "event:read", "viewer"),
    (
        "POST",
        "/api/v1/issues/{issue}/comments",
        {"text": "hi"},
        "event:write",
        "member",
    ),
    ("GET", "/api/v1/issues/{issue}/events", None, "event:read", "viewer"),
    ("GET", "/api/v1/issues/{issue}/events/{event}", None, "event:read", "viewer"),
    ("GET", "/api/v1/issues/{issue}/tags", None, "event:read", "viewer"),
    (
        "POST",
        "/api/v1/issues/{issue}/actions",
        {"action": "resolve"},
        "event:write",
        "member",
    ),
    ("GET", "/api/v1/organizations/acme/searches", None, "event:read", "viewer"),
    (
        "POST",
        "/api/v1/organizations/acme/searches",
        {"name": "s"},
        "event:write",
        "member",
    ),
    (
        "DELETE",
        "/api/v1/organizations/acme/searches/{search}",
        None,
        "event:write",
        "member",
    ),
    (
        "POST",
        "/api/v1/organizations/acme/imports/sentry",
        {"url": "https://sentry.example.com", "token": "t", "org": "acme"},
        "org:admin",
        "admin",
    ),
    ("GET", "/api/v1/projects/acme/backend/forwarding", None, "project:read", "admin"),
    (
        "PUT",
        "/api/v1/projects/acme/backend/forwarding",
        {"dsn": "https://k@sentry.example.com/1"},
        "project:write",
        "admin",
    ),
    (
        "DELETE",
        "/api/v1/projects/acme/backend/forwarding",
        None,
        "project:write",
        "admin",
    ),
]
# Endpoints about the user's own tokens need no scope.
V1_TOKENS = [
    ("GET", "/api/v1/tokens", None, "", None),
    ("POST", "/api/v1/tokens", {"name": "t", "scopes": ["event:read"]}, "", None),
]
ENDPOINTS = SENTRY + V1
ORGANIZATION_ENDPOINTS = [e for e in ENDPOINTS if e[4] is not None]
GLOBAL_ENDPOINTS = [e for e in ENDPOINTS + V1_TOKENS if e[4] is None]


def ident(endpoint) -> str:
    return f"{endpoint[0]} {endpoint[1]}"


@pytest.fixture
def world(alice, project):
    """An issue with an event and tags, a saved search, a DSN key."""
    (event_id,) = digest_events(project, [python_error()])
    issue = Issue.objects.get()
    search = SavedSearch.objects.create(
        organization=project.organization,
        owner=alice,
        name="mine",
        query="",
        is_shared=True,
    )
    return {
        "issue": issue.pk,
        "event": event_id,
        "key": project.keys.get().pk,
        "search": search.pk,
    }


def fill(value, world: dict):
    if isinstance(value, str):
        for name, number in world.items():
            value = value.replace("{" + name + "}", str(number))
        return int(value) if value.isdigit() else value
    if isinstance(value, list):
        return [fill(item, world) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    return value


def call(api: ApiClient, endpoint, world: dict):
    method, path, body, _, _ = endpoint
    path = fill(path, world)
    if method == "GET":
        return api.get(path)
    if method == "DELETE":
        return api.delete(path)
    sender = {"POST": api.post_json, "PUT": api.put_json, "PATCH": api.patch_json}[
        method
    ]
    return sender(path, fill(body, world))


@pytest.mark.parametrize("endpoint", ENDPOINTS + V1_TOKENS, ids=ident)
def test_it_refuses_requests_without_a_token(world, endpoint):
    response = call(ApiClient(), endpoint, world)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ident)
def test_it_refuses_a_token_without_the_scope(alice, world, endpoint):
    # team:read is a real scope that no endpoint here accepts.
    response = call(ApiClient(issue_token(alice, ["team:read"])), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action. "
        f"This needs a token with the {endpoint[3]} scope."
    }


@pytest.mark.parametrize("endpoint", ORGANIZATION_ENDPOINTS, ids=ident)
def test_it_answers_404_to_another_organization(charlie, charlies_org, world, endpoint):
    response = call(ApiClient(issue_token(charlie)), endpoint, world)
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


@pytest.mark.parametrize("endpoint", GLOBAL_ENDPOINTS, ids=ident)
def test_it_shows_another_organization_nothing_of_acme(
    charlie, charlies_org, world, endpoint
):
    response = call(ApiClient(issue_token(charlie)), endpoint, world)
    assert response.status_code in (200, 201)
    assert b"acme" not in response.content
    assert b"alice@example.org" not in response.content


def test_it_answers_404_when_revoking_another_users_token(charlie, world, alice):
    issue_token(alice, name="alices")
    theirs = ApiToken.objects.get(name="alices")
    response = ApiClient(issue_token(charlie)).delete(f"/api/v1/tokens/{theirs.pk}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e[4] == "member"], ids=ident
)
def test_it_refuses_viewers_what_needs_a_member(vera, world, endpoint):
    response = call(ApiClient(issue_token(vera)), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the member role or higher."}


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e[4] == "admin"], ids=ident
)
def test_it_refuses_members_what_needs_an_admin(bob, world, endpoint):
    response = call(ApiClient(issue_token(bob)), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the admin role or higher."}


@pytest.mark.parametrize("endpoint", ENDPOINTS + V1_TOKENS, ids=ident)
def test_it_lets_the_owner_through(alice, world, endpoint):
    response = call(ApiClient(issue_token(alice)), endpoint, world)
    assert response.status_code in (200, 201, 202, 204)


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e[4] == "viewer"], ids=ident
)
def test_it_lets_viewers_read(vera, world, endpoint):
    response = call(ApiClient(issue_token(vera)), endpoint, world)
    assert response.status_code == 200
