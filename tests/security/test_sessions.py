"""Signed-in sessions: listed and ended by their user, an operator's API and
``fixtrail sessions``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from fixtrail.accounts.models import ApiToken
from fixtrail.security.models import UserSession
from tests.builders import PASSWORD, make_user


def _sign_in(email: str, agent: str = "Firefox/130", ip: str = "192.0.2.10") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = client.post("/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_it_records_a_session_at_sign_in(alice):
    client = _sign_in("alice@example.org")

    row = UserSession.objects.get()
    assert row.user == alice
    assert row.session_key == client.session.session_key
    assert row.ip_address == "192.0.2.10"
    assert row.user_agent == "Firefox/130"
    assert row.method == UserSession.Method.PASSWORD


def test_it_lists_the_users_sessions_on_the_security_page(alice, bob):
    _sign_in("alice@example.org", agent="Laptop <b>")
    _sign_in("bob@example.org", agent="Bob's phone")
    client = _sign_in("alice@example.org", agent="Desktop")

    page = client.get("/account/security/").content.decode()

    assert "Laptop &lt;b&gt;" in page and "Desktop" in page
    assert "(this browser)" in page
    assert "Bob&#x27;s phone" not in page


def test_it_ends_another_session(alice):
    laptop = _sign_in("alice@example.org", agent="Laptop")
    desktop = _sign_in("alice@example.org", agent="Desktop")
    row = UserSession.objects.get(user_agent="Laptop")

    response = desktop.post(f"/account/security/sessions/{row.pk}/revoke/")

    assert response["Location"] == "/account/security/"
    assert not UserSession.objects.filter(pk=row.pk).exists()
    # The laptop's cookie no longer signs anyone in.
    assert laptop.get("/account/tokens/")["Location"].startswith("/login/")
    assert desktop.get("/account/tokens/").status_code == 200


def test_it_hides_other_users_sessions(alice, charlie):
    _sign_in("alice@example.org")
    row = UserSession.objects.get()
    client = _sign_in("charlie@example.org")

    response = client.post(f"/account/security/sessions/{row.pk}/revoke/")

    assert response.status_code == 404
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_it_forgets_a_session_at_logout(alice):
    client = _sign_in("alice@example.org")

    client.post("/logout/")

    assert not UserSession.objects.exists()


@pytest.fixture
def admin(db):
    return make_user("root@example.org", is_superuser=True)


def _token(user) -> str:
    return ApiToken.issue(user, "ops", ["org:read"])[1]


def test_it_lists_sessions_for_an_instance_admin(client, alice, admin):
    _sign_in("alice@example.org")

    response = client.get(
        "/api/v1/sessions?user=alice@example.org",
        HTTP_AUTHORIZATION=f"Bearer {_token(admin)}",
    )

    body = response.json()
    assert response.status_code == 200
    assert [(s["user"], s["ip_address"], s["method"]) for s in body] == [
        ("alice@example.org", "192.0.2.10", "password")
    ]


def test_it_ends_a_session_for_an_instance_admin(client, alice, admin):
    browser = _sign_in("alice@example.org")
    row = UserSession.objects.get()

    response = client.delete(
        f"/api/v1/sessions/{row.pk}", HTTP_AUTHORIZATION=f"Bearer {_token(admin)}"
    )

    assert response.status_code == 204
    assert browser.get("/account/tokens/").status_code == 302


def test_it_refuses_the_sessions_api_to_others(client, alice):
    _sign_in("alice@example.org")
    row = UserSession.objects.get()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token(alice)}"}

    listing = client.get("/api/v1/sessions", **auth)
    ending = client.delete(f"/api/v1/sessions/{row.pk}", **auth)

    assert listing.status_code == 403
    assert ending.status_code == 403
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_it_lists_and_ends_sessions_from_the_command_line(alice, bob):
    alice_browser = _sign_in("alice@example.org")
    _sign_in("alice@example.org", agent="Phone")
    _sign_in("bob@example.org")
    out = io.StringIO()

    call_command("sessions", "list", "--user", "alice@example.org", stdout=out)
    listed = [json.loads(line) for line in out.getvalue().splitlines()]
    call_command("sessions", "revoke", "--user", "alice@example.org", stdout=out)

    assert {s["user"] for s in listed} == {"alice@example.org"}
    assert len(listed) == 2
    assert "Ended 2 session(s) of alice@example.org." in out.getvalue()
    assert alice_browser.get("/account/tokens/").status_code == 302
    assert UserSession.objects.get().user == bob


def test_it_names_an_unknown_user_on_the_command_line(db):
    with pytest.raises(CommandError, match="No user nobody@example.org."):
        call_command("sessions", "revoke", "--user", "nobody@example.org")
