"""Failed sign-ins lock the account and the client address for a while."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt

from tests.builders import PASSWORD

LOCKED = "Too many failed sign-ins for this account or from your address."


def _login(client, email, password, ip="203.0.113.5"):
    return client.post(
        "/login/", {"email": email, "password": password}, REMOTE_ADDR=ip
    )


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def test_it_locks_an_account_after_repeated_wrong_passwords(client, alice):
    for n in range(3):
        _login(client, "alice@example.org", "wrong", ip=f"198.51.100.{n}")

    response = _login(client, "alice@example.org", PASSWORD, ip="192.0.2.7")

    # The right password from a fresh address is refused while locked.
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "locked for 15 minutes" in response.content.decode()
    assert b'name="password"' in response.content
    assert "_auth_user_id" not in client.session


def test_it_locks_a_client_address_trying_many_accounts(client, alice):
    for n in range(3):
        _login(client, f"nobody{n}@example.org", "guess")

    response = _login(client, "alice@example.org", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_lets_the_account_in_from_elsewhere_when_only_an_address_is_locked(
    client, alice
):
    for n in range(3):
        _login(client, f"nobody{n}@example.org", "guess")

    response = _login(client, "alice@example.org", PASSWORD, ip="192.0.2.99")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_it_shows_the_plain_error_before_the_limit(client, alice):
    response = _login(client, "alice@example.org", "wrong")

    assert response.status_code == 200
    assert b"Wrong e-mail or password." in response.content


def test_it_lifts_the_lock_once_it_expires(client, alice):
    for _ in range(3):
        _login(client, "alice@example.org", "wrong")
    # Sixteen minutes later (the lock is fifteen).
    AccessAttempt.objects.update(
        attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    )

    response = _login(client, "alice@example.org", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_it_forgets_failures_after_a_successful_sign_in(client, alice):
    for _ in range(2):
        _login(client, "alice@example.org", "wrong")
    _login(client, "alice@example.org", PASSWORD)
    client.post("/logout/")
    for _ in range(2):
        _login(client, "alice@example.org", "wrong")

    response = _login(client, "alice@example.org", PASSWORD)

    assert response.status_code == 302


def test_it_refuses_password_sign_in_when_turned_off(client, alice, settings):
    settings.PASSWORD_LOGIN = False

    page = client.get("/login/")
    response = _login(client, "alice@example.org", PASSWORD)

    assert b'name="password"' not in page.content
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [("198.51.100.1", "198.51.100.1"), ("10.0.0.1, 198.51.100.2", "198.51.100.2")],
)
def test_it_takes_the_proxy_appended_address_behind_a_proxy(
    client, alice, settings, forwarded, expected
):
    settings.BEHIND_PROXY = True

    client.post(
        "/login/",
        {"email": "alice@example.org", "password": "wrong"},
        HTTP_X_FORWARDED_FOR=forwarded,
    )

    assert AccessAttempt.objects.get().ip_address == expected
