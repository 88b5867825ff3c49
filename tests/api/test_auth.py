"""Bearer tokens, scopes, membership and the per-token rate limit."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from fixtrail.accounts.models import ApiToken
from fixtrail.api.auth import scope_granted
from tests.api.conftest import ApiClient, issue_token

ISSUES = "/api/0/projects/acme/backend/issues/"


@pytest.fixture
def one_minute():
    """Start a rate-limit test early enough in a minute window that its few
    requests cannot straddle two windows (the limit counts per clock minute)."""
    left = 60 - time.time() % 60
    if left < 10:
        time.sleep(left + 0.1)


@pytest.mark.parametrize(
    ("granted", "needed", "ok"),
    [
        (["event:read"], "event:read", True),
        (["event:write"], "event:read", True),
        (["event:admin"], "event:write", True),
        (["event:read"], "event:write", False),
        (["event:write"], "event:admin", False),
        (["project:admin"], "event:read", False),
        (["project:write"], "project:releases", False),
        (["project:releases"], "project:releases", True),
        ([], "org:read", False),
    ],
)
def test_it_lets_broader_scopes_of_a_resource_cover_narrower_ones(granted, needed, ok):
    assert scope_granted(granted, needed) is ok


def test_it_refuses_a_request_without_token(client, project):
    response = client.get(ISSUES)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_refuses_another_scheme(client, project):
    response = client.get(ISSUES, HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }


def test_it_refuses_an_unknown_token(project):
    response = ApiClient("sntryu_" + "0" * 64).get(ISSUES)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_it_refuses_a_revoked_token(alice, project):
    clear = issue_token(alice)
    ApiToken.objects.get().revoke()
    response = ApiClient(clear).get(ISSUES)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_it_refuses_the_token_of_a_deactivated_user(alice, project):
    clear = issue_token(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert ApiClient(clear).get(ISSUES).status_code == 401


def test_it_refuses_a_token_without_the_scope(alice, project):
    response = ApiClient(issue_token(alice, ["project:read"])).get(ISSUES)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action. "
        "This needs a token with the event:read scope."
    }


def test_it_accepts_a_broader_scope(alice, project):
    response = ApiClient(issue_token(alice, ["event:admin"])).get(ISSUES)
    assert response.status_code == 200


def test_it_hides_other_organizations(charlie_api, project):
    response = charlie_api.get(ISSUES)
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_records_when_a_token_was_used(alice, project):
    clear = issue_token(alice)
    before = timezone.now()
    ApiClient(clear).get(ISSUES)
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    assert token.last_used_at >= before


def test_it_limits_requests_per_token_per_minute(alice, project, settings, one_minute):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    api = ApiClient(issue_token(alice))
    assert [api.get(ISSUES).status_code for _ in range(2)] == [200, 200]
    response = api.get(ISSUES)
    assert response.status_code == 429
    assert response.json() == {
        "detail": "You are attempting to use this endpoint too frequently. "
        "Limit is 2 requests in 60 seconds"
    }
    assert 1 <= int(response["Retry-After"]) <= 60


def test_it_counts_each_token_on_its_own(alice, project, settings, one_minute):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first, second = ApiClient(issue_token(alice)), ApiClient(issue_token(alice))
    assert first.get(ISSUES).status_code == 200
    assert second.get(ISSUES).status_code == 200
    assert first.get(ISSUES).status_code == 429


def test_it_does_not_limit_when_the_limit_is_zero(alice, project, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    api = ApiClient(issue_token(alice))
    assert {api.get(ISSUES).status_code for _ in range(5)} == {200}
