from __future__ import annotations

import pytest

from fixtrail.accounts import setup
from fixtrail.accounts.models import ApiToken, Membership, User, hash_token


@pytest.mark.django_db
def test_it_refuses_setup_without_the_token(client):
    setup.setup_token()
    response = client.get("/setup/")
    assert response.status_code == 403
    assert b"one-time token" in response.content


@pytest.mark.django_db
def test_it_creates_the_first_user_with_the_token(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    token = setup.setup_token()
    response = client.post(
        "/setup/",
        {
            "token": token,
            "email": "Admin@Example.org",
            "password": "a long enough password",
            "organization": "Acme Corp",
        },
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "admin@example.org"
    assert user.password.startswith("argon2")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner"
    assert membership.organization.slug == "acme-corp"
    # The token is single-use.
    assert setup.check_setup_token(token) is False


@pytest.mark.django_db
def test_it_closes_setup_once_a_user_exists(client, alice):
    response = client.get("/setup/?token=whatever")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


@pytest.mark.django_db
def test_bootstrap_is_idempotent():
    first = setup.bootstrap("Acme", "Backend", "ops@example.org", "pw-123456789")
    second = setup.bootstrap("Acme", "Backend", "ops@example.org", "pw-123456789")
    assert first == second
    assert first["org"] == "acme"
    assert first["project"] == "backend"
    assert first["dsn"].startswith("http://")
    assert first["dsn"].endswith(f"/{first['project_id']}")
    assert User.objects.count() == 1
    token = ApiToken.objects.get(token_hash=hash_token(first["token"]))
    assert "event:admin" in token.scopes
    assert first["token"].startswith("sntryu_")


@pytest.mark.django_db
def test_bootstrap_replaces_a_revoked_token():
    first = setup.bootstrap("Acme", "Backend", "ops@example.org", "pw-123456789")
    ApiToken.objects.get().revoke()
    second = setup.bootstrap("Acme", "Backend", "ops@example.org", "pw-123456789")
    assert second["token"] != first["token"]
    assert ApiToken.objects.for_token(first["token"]) is None
    assert ApiToken.objects.for_token(second["token"]) is not None


@pytest.mark.django_db
def test_it_says_the_passwords_minimum_length_itself(client):
    token = setup.setup_token()
    form = {"token": token, "email": "a@example.org", "organization": "Acme"}
    page = client.get(f"/setup/?token={token}").content.decode()
    response = client.post("/setup/", {**form, "password": "short"})
    body = response.content.decode()
    assert "At least 8 characters, not a common password." in page
    # novalidate: the browser leaves the check, and its message, to the app.
    assert "novalidate" in page
    assert response.status_code == 200
    assert "The password is too short: use at least 8 characters." in body
    assert User.objects.exists() is False
