from __future__ import annotations

import pytest

from fixtrail.accounts.models import ApiToken, Membership, User, hash_token
from tests.builders import PASSWORD, make_user


def test_it_logs_in_with_email_and_password(client, alice):
    response = client.post(
        "/login/", {"email": "ALICE@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_it_rejects_a_wrong_password(client, alice):
    response = client.post(
        "/login/", {"email": "alice@example.org", "password": "nope"}
    )
    assert response.status_code == 200
    assert b"Wrong e-mail or password." in response.content
    assert "_auth_user_id" not in client.session


def test_it_ignores_an_offsite_next_parameter(client, alice):
    response = client.post(
        "/login/?next=https://evil.example/",
        {"email": "alice@example.org", "password": PASSWORD},
    )
    assert response["Location"] == "/"


def test_it_sends_a_member_home_to_their_organization(alice_client, org):
    response = alice_client.get("/")
    assert response["Location"] == "/organizations/acme/"


def test_it_creates_a_token_shown_once_and_stored_hashed(alice_client, alice):
    response = alice_client.post(
        "/account/tokens/", {"name": "ci", "scopes": ["project:read", "event:read"]}
    )
    token = ApiToken.objects.get(user=alice)
    clear = response.context["created"]
    assert response.status_code == 200
    assert clear.startswith("sntryu_") and len(clear) == 7 + 64
    assert token.token_hash == hash_token(clear)
    assert clear not in token.token_hash
    assert token.scopes == ["event:read", "project:read"]
    # The listing afterwards shows only the prefix.
    assert clear not in alice_client.get("/account/tokens/").content.decode()


def test_it_revokes_a_token(alice_client, alice):
    token, clear = ApiToken.issue(alice, "ci", ["org:read"])
    response = alice_client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert response.status_code == 302
    assert token.revoked_at is not None
    assert ApiToken.objects.for_token(clear) is None


def test_it_cannot_revoke_someone_elses_token(client, alice, charlie):
    token, clear = ApiToken.issue(alice, "ci", ["org:read"])
    client.force_login(charlie)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.for_token(clear) == token


def test_it_rejects_unknown_scopes(alice):
    with pytest.raises(ValueError, match="^unknown scopes: root$"):
        ApiToken.issue(alice, "x", ["root"])


def test_it_lets_owners_add_members(alice_client, org):
    response = alice_client.post(
        "/organizations/acme/members/", {"email": "dave@example.org", "role": "viewer"}
    )
    dave = User.objects.get(email="dave@example.org")
    assert response.status_code == 302
    assert Membership.objects.get(user=dave, organization=org).role == "viewer"
    assert dave.has_usable_password() is False


def test_it_refuses_member_changes_by_admins(client, org):
    adam = make_user("adam@example.org")
    Membership.objects.create(user=adam, organization=org, role="admin")
    client.force_login(adam)
    response = client.post(
        "/organizations/acme/members/", {"email": "adam@example.org", "role": "owner"}
    )
    assert response.status_code == 403
    assert Membership.objects.get(user=adam).role == "admin"


def test_it_keeps_the_last_owner(alice_client, alice, org):
    response = alice_client.post(
        "/organizations/acme/members/", {"email": "alice@example.org", "role": "viewer"}
    )
    assert response.status_code == 200
    assert (
        "alice@example.org is the only owner: make someone else owner first."
        in response.content.decode()
    )
    assert Membership.objects.get(user=alice, organization=org).role == "owner"


def test_it_lets_an_owner_hand_over(alice_client, alice, bob, org):
    alice_client.post(
        "/organizations/acme/members/", {"email": "bob@example.org", "role": "owner"}
    )
    response = alice_client.post(
        "/organizations/acme/members/", {"email": "alice@example.org", "role": "admin"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=bob, organization=org).role == "owner"
    assert Membership.objects.get(user=alice, organization=org).role == "admin"


def test_it_refuses_member_changes_by_members(client, bob, org):
    client.force_login(bob)
    response = client.post(
        "/organizations/acme/members/", {"email": "eve@example.org", "role": "owner"}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="eve@example.org").exists()


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "member", False),
        ("member", "member", True),
        ("member", "admin", False),
        ("admin", "admin", True),
        ("admin", "owner", False),
        ("owner", "admin", True),
    ],
)
def test_roles_rank(role, minimum, allowed):
    assert Membership(role=role).has_role(minimum) is allowed


def test_it_creates_a_token_from_a_preset(alice_client, alice):
    response = alice_client.post(
        "/account/tokens/", {"name": "ci", "preset": "sentry-cli"}
    )
    token = ApiToken.objects.get(user=alice)
    assert response.status_code == 200
    assert token.scopes == [
        "event:read",
        "event:write",
        "org:read",
        "project:read",
        "project:releases",
        "project:write",
    ]
    assert 'data-copy="sntryu_' in response.content.decode()


def test_it_needs_scopes_without_a_preset(alice_client, alice):
    response = alice_client.post("/account/tokens/", {"name": "ci", "preset": "custom"})
    assert "Choose at least one scope." in response.content.decode()
    assert ApiToken.objects.exists() is False
