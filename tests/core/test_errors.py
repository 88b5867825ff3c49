"""Errors every client can read: JSON under /api/, pages for browsers."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from fixtrail.core.errors import server_error


@pytest.fixture
def strict_client() -> Client:
    # Django's test client skips CSRF checks unless told otherwise; a real
    # client such as sentry-cli gets them.
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/0/organizations/acme/not-built-yet/"),
        ("post", "/api/v1/nothing"),
        ("get", "/api/0/nothing/"),
        ("get", "/api/nothing"),
        ("put", "/api/"),
        ("get", "/api/5/unknown/"),
    ],
)
def test_it_answers_unknown_api_paths_with_a_json_404(db, strict_client, method, path):
    response = getattr(strict_client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_answers_a_wrong_method_with_a_json_405(db, strict_client):
    response = strict_client.delete("/api/0/organizations/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
    assert response["Allow"] == "GET"


def test_it_answers_a_cookie_post_to_an_unknown_path_in_json(strict_client, alice, org):
    # A logged-in browser carries the session cookie, which is what makes
    # Django check CSRF on a form post.
    strict_client.force_login(alice)
    response = strict_client.post("/api/0/organizations/acme/not-built-yet/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_shows_a_404_page_with_navigation_and_a_way_back(alice_client, org):
    response = alice_client.get("/organizations/nowhere/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body
    assert 'href="/organizations/acme/"' in body  # the navigation
    assert '<a class="button" href="/">Go to your projects</a>' in body


def test_it_shows_a_403_page_for_a_role_too_low(client, vera, project):
    client.force_login(vera)
    response = client.get("/organizations/acme/projects/new/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "<h1>You cannot do that here</h1>" in body
    assert "vera@example.org" in body
    assert "Go to your projects" in body


def test_it_shows_a_page_for_a_form_sent_without_csrf_token(strict_client, alice, org):
    strict_client.force_login(alice)
    response = strict_client.post("/organizations/acme/members/", {"email": "x@y.z"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "<h1>This form has expired</h1>" in body
    assert "CSRF verification failed" not in body


def test_it_answers_a_server_error_without_the_database():
    factory = RequestFactory()
    page = server_error(factory.get("/organizations/acme/"))
    api = server_error(factory.get("/api/0/organizations/"))
    assert page.status_code == 500
    assert "<h1>Something went wrong</h1>" in page.content.decode()
    assert api.status_code == 500
    assert api["Content-Type"] == "application/json"
