"""Property-based requests generated from both OpenAPI schemas (the role
Schemathesis plays elsewhere): whatever the path values, query parameters
and bodies, no request makes the server fail (no 5xx)."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtrail.api.sentry.api import api as sentry_api
from fixtrail.api.v1.api import api as v1_api
from fixtrail.issues.models import Issue
from tests.api.conftest import ApiClient, digest_events, issue_token, python_error

MAX_EXAMPLES = 300
HTTP_METHODS = ("get", "put", "post", "patch", "delete")

# Query parameters the Sentry-compatible endpoints read from the query
# string without declaring them in the schema.
SENTRY_QUERY = (
    "query", "sort", "statsPeriod", "limit", "per_page", "cursor", "environment",
    "project", "start", "end", "id", "status", "full",
)  # fmt: skip
SENTRY_BODY_KEYS = (
    "status", "statusDetails", "ignoreDuration", "snoozeDuration", "assignedTo",
    "priority", "hasSeen", "isBookmarked", "merge", "issue_id", "url",
)  # fmt: skip

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
    ),
    max_leaves=12,
)
# Values that tend to find bugs in parameter handling.
tricky = st.sampled_from(
    ["", "0", "-1", "9" * 30, "latest", "0:100:0", "is:unresolved", "24h", "14d",
     "2024-05-01T00:00:00Z", "user:1", "team:1", "true", "null", "%", "..", "acme"]
)  # fmt: skip


def operations() -> list[tuple[str, str, dict, dict]]:
    """Every (method, path, operation, components) of both schemas."""
    found = []
    for api, prefix in ((sentry_api, "/api/0/"), (v1_api, "/api/v1/")):
        schema = api.get_openapi_schema(path_prefix=prefix)
        components = schema.get("components", {}).get("schemas", {})
        for path, item in schema["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    found.append((method, path, item[method], components))
    return found


OPERATIONS = operations()


def from_schema(schema: dict, components: dict, depth: int = 0) -> st.SearchStrategy:
    """A strategy for values of a JSON schema, mixed with values of any type."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if depth > 3:
        return json_values
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf")
        return st.one_of([from_schema(o, components, depth + 1) for o in options])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | text
    kind = schema.get("type")
    if kind == "string":
        return text | tricky
    if kind == "integer":
        return st.integers(-(2**70), 2**70) | st.integers(0, 100)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {}), components, depth + 1), max_size=4
        )
    if kind == "object":
        properties = {
            name: from_schema(value, components, depth + 1)
            for name, value in schema.get("properties", {}).items()
        }
        return st.fixed_dictionaries({}, optional=properties) | st.dictionaries(
            text, json_values, max_size=3
        )
    return json_values


@st.composite
def requests(draw, world: dict) -> tuple[str, str, Any]:
    method, path, operation, components = draw(st.sampled_from(OPERATIONS))
    known = {
        "org_slug": ["acme", "umbrella"],
        "project_slug": ["backend"],
        "issue_id": [str(world["issue"]), f"BACKEND-{world['short_id']}"],
        "event_id": [world["event"], "latest", "oldest"],
        "key": ["level", "release", "server_name"],
        "key_id": [str(world["key"])],
        "search_id": ["1"],
        "token_id": ["1", "2"],
    }
    url = path
    query: list[tuple[str, str]] = []
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            # Mostly real objects, so requests get past the lookups; now
            # and then anything at all.
            if draw(st.integers(0, 9)) < 8:
                value = draw(st.sampled_from(known.get(name, ["x"])))
            else:
                value = draw(text | tricky)
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query" and draw(st.booleans()):
            value = draw(from_schema(parameter.get("schema", {}), components))
            query.append((name, value if isinstance(value, str) else str(value)))
    if path.startswith("/api/0/"):
        for name in draw(st.lists(st.sampled_from(SENTRY_QUERY), max_size=4)):
            query.append((name, draw(text | tricky)))
    body: Any = None
    if method in ("put", "post", "patch"):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = draw(from_schema(content["application/json"]["schema"], components))
        else:
            body = draw(
                st.dictionaries(
                    st.sampled_from(SENTRY_BODY_KEYS), json_values, max_size=4
                )
                | json_values
            )
    if query:
        url += "?" + "&".join(
            f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in query
        )
    return method, url, body


@pytest.fixture
def world(project, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    (event_id,) = digest_events(
        project, [python_error(release="1.0", environment="prod")]
    )
    issue = Issue.objects.get()
    return {
        "issue": issue.pk,
        "short_id": issue.short_id,
        "event": event_id,
        "key": project.keys.get().pk,
        "project": project,
    }


def send(api: ApiClient, method: str, url: str, body: Any):
    if method == "get":
        return api.get(url)
    if method == "delete":
        return api.delete(url)
    sender = {"post": api.post_json, "put": api.put_json, "patch": api.patch_json}[
        method
    ]
    return sender(url, body)


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_never_fails_with_a_server_error(alice, charlie, charlies_org, world, data):
    api = ApiClient(issue_token(data.draw(st.sampled_from([alice, charlie]))))
    if not Issue.objects.filter(pk=world["issue"]).exists():
        # A generated DELETE or merge took the issue; give the next requests one.
        (world["event"],) = digest_events(world["project"], [python_error()])
        issue = Issue.objects.get(
            project=world["project"], events__event_id=world["event"]
        )
        world.update(issue=issue.pk, short_id=issue.short_id)
    method, url, body = data.draw(requests(world))
    response = send(api, method, url, body)
    assert response.status_code < 500, (method, url, body, response.content[:500])


def test_it_covers_every_operation_of_both_apis():
    paths = {(method, path) for method, path, _, _ in OPERATIONS}
    assert ("get", "/api/0/projects/{org_slug}/{project_slug}/issues/") in paths
    assert ("post", "/api/v1/issues/{issue_id}/actions") in paths
    assert len(paths) == len(OPERATIONS)
    assert all(c in string.printable for _, path, _, _ in OPERATIONS for c in path)
