"""TOTP enrolment, the sign-in code step and recovery codes, through the pages."""

from __future__ import annotations

import time

import pyotp
import pytest

from fixtrail.security.models import RecoveryCode, TOTPDevice, hash_recovery_code
from fixtrail.security.signin import PENDING_KEY
from tests.builders import PASSWORD


def _code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(device.secret)
    return totp.at(time.time() + steps_ahead * totp.interval)


def _enroll(client) -> tuple[TOTPDevice, list[str]]:
    client.get("/account/security/two-factor/")
    device = TOTPDevice.objects.get()
    response = client.post("/account/security/two-factor/", {"code": _code(device)})
    return device, response.context["codes"]


@pytest.fixture
def enrolled(alice_client, alice):
    device, codes = _enroll(alice_client)
    alice_client.post("/logout/")
    return device, codes


def test_it_shows_a_qr_code_and_the_key_to_enrol(alice_client, alice):
    response = alice_client.get("/account/security/two-factor/")

    device = TOTPDevice.objects.get(user=alice)
    assert response.status_code == 200
    assert device.secret in response.content.decode()
    assert b"<svg" in response.content
    assert device.is_confirmed is False


def test_it_refuses_a_wrong_code_at_enrolment(alice_client, alice):
    alice_client.get("/account/security/two-factor/")

    response = alice_client.post("/account/security/two-factor/", {"code": "000000"})

    assert b"That code is not right" in response.content
    assert TOTPDevice.objects.get(user=alice).is_confirmed is False
    assert not RecoveryCode.objects.exists()


def test_it_turns_two_factor_on_and_shows_ten_recovery_codes(alice_client, alice):
    device, codes = _enroll(alice_client)

    device.refresh_from_db()
    assert device.is_confirmed is True
    assert len(codes) == 10
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    # Only hashes are stored.
    assert stored == {hash_recovery_code(c) for c in codes}


def test_it_asks_for_a_code_after_the_password(client, alice, enrolled):
    response = client.post(
        "/login/?next=/account/tokens/",
        {"email": "alice@example.org", "password": PASSWORD},
    )

    assert response["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session


def test_it_signs_in_with_password_and_code(client, alice, enrolled):
    device, _ = enrolled
    client.post(
        "/login/?next=/account/tokens/",
        {"email": "alice@example.org", "password": PASSWORD},
    )

    response = client.post("/login/code/", {"code": _code(device, 1)})

    assert response["Location"] == "/account/tokens/"
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert PENDING_KEY not in client.session


def test_it_refuses_a_wrong_code_at_sign_in(client, alice, enrolled):
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})

    response = client.post("/login/code/", {"code": "123456"})

    assert b"That code is not right, or was used already." in response.content
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_code_used_before(client, alice, enrolled):
    device, _ = enrolled
    code = _code(device, 1)
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})
    client.post("/login/code/", {"code": code})
    client.post("/logout/")
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})

    response = client.post("/login/code/", {"code": code})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_accepts_a_recovery_code_once(client, alice, enrolled):
    _, codes = enrolled
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})
    first = client.post("/login/code/", {"code": codes[0].upper()})
    client.post("/logout/")
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})

    second = client.post("/login/code/", {"code": codes[0]})

    assert first.status_code == 302
    assert second.status_code == 200
    assert "_auth_user_id" not in client.session
    assert RecoveryCode.objects.filter(used_at__isnull=True).count() == 9


def test_it_locks_the_code_step_after_repeated_wrong_codes(
    client, alice, enrolled, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    device, _ = enrolled
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})
    for _ in range(2):
        client.post("/login/code/", {"code": "000000"})

    locked = client.post("/login/code/", {"code": "000001"})
    after = client.post("/login/code/", {"code": _code(device, 1)})

    assert locked.status_code == 429
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_sends_an_expired_code_step_back_to_the_login(client, alice, enrolled):
    device, _ = enrolled
    client.post("/login/", {"email": "alice@example.org", "password": PASSWORD})
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "at": time.time() - 600}
    session.save()

    response = client.post("/login/code/", {"code": _code(device, 1)})

    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_it_turns_two_factor_off(alice_client, alice):
    _enroll(alice_client)

    response = alice_client.post("/account/security/two-factor/off/")

    assert response.status_code == 302
    assert not TOTPDevice.objects.exists()
    assert not RecoveryCode.objects.exists()


def test_it_replaces_recovery_codes(alice_client, alice):
    _, old = _enroll(alice_client)

    response = alice_client.post("/account/security/recovery-codes/")

    new = response.context["codes"]
    assert set(new).isdisjoint(old)
    assert not RecoveryCode.objects.filter(code_hash=hash_recovery_code(old[0]))


def test_it_needs_a_login_for_the_security_page(client):
    response = client.get("/account/security/")

    assert response["Location"] == "/login/?next=/account/security/"
