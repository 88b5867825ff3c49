from __future__ import annotations

import re

from django.core import mail

from fixtrail.accounts.models import User

NEW_PASSWORD = "a brand new passphrase"


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/reset/\S+/)", message.body).group(1)


def _choose_password(client, link: str) -> None:
    # The link redirects once to a URL without the token, then takes the form.
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/reset/done/"


def test_it_invites_a_new_member_to_choose_a_password(alice_client, client, org):
    response = alice_client.post(
        "/organizations/acme/members/", {"email": "dave@example.org", "role": "member"}
    )
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["dave@example.org"]
    assert message.subject == "alice@example.org invited you to Acme on Fixtrail"
    assert message.alternatives[0][1] == "text/html"

    alice_client.logout()
    _choose_password(client, _link(message))

    response = client.post(
        "/login/", {"email": "dave@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/")["Location"] == "/organizations/acme/"


def test_an_invitation_link_works_once(alice_client, client, org):
    alice_client.post(
        "/organizations/acme/members/", {"email": "dave@example.org", "role": "member"}
    )
    link = _link(mail.outbox[0])
    _choose_password(client, link)
    response = client.get(link)
    assert response.status_code == 200
    assert "This link has expired or was already used." in response.content.decode()


def test_it_does_not_invite_someone_who_has_a_password(alice_client, bob, org):
    response = alice_client.post(
        "/organizations/acme/members/", {"email": "bob@example.org", "role": "admin"}
    )
    assert response.status_code == 302
    assert mail.outbox == []


def test_it_resets_a_forgotten_password(client, alice):
    response = client.post("/password-reset/", {"email": "alice@example.org"})
    assert response["Location"] == "/password-reset/sent/"
    [message] = mail.outbox
    assert message.subject == "Reset your Fixtrail password"

    _choose_password(client, _link(message))

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) is True


def test_it_does_not_reveal_whether_an_address_has_an_account(client, alice):
    response = client.post("/password-reset/", {"email": "nobody@example.org"})
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []
    assert not User.objects.filter(email="nobody@example.org").exists()


def test_it_says_why_a_new_password_is_refused(client, alice):
    client.post("/password-reset/", {"email": "alice@example.org"})
    form_url = client.get(_link(mail.outbox[0]))["Location"]
    page = client.get(form_url).content.decode()
    response = client.post(
        form_url, {"new_password1": "short", "new_password2": "short"}
    )
    body = response.content.decode()
    alice.refresh_from_db()
    assert '<label for="id_new_password1">New password:</label>' in page
    assert response.status_code == 200
    assert "This password is too short. It must contain at least 8 characters." in body
    assert alice.check_password("short") is False
