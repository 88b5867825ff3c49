"""An organization owner requires two-factor of every member."""

from __future__ import annotations

import time

import pyotp

from fixtrail.security.models import OrganizationPolicy, TOTPDevice


def _require(org) -> None:
    OrganizationPolicy.objects.create(organization=org, require_two_factor=True)


def test_it_lets_the_owner_require_two_factor(alice_client, org):
    response = alice_client.post(
        "/organizations/acme/security/", {"require_two_factor": "on"}
    )

    assert response.status_code == 302
    assert OrganizationPolicy.objects.get(organization=org).require_two_factor is True


def test_it_forbids_a_member_to_change_the_policy(client, bob, org):
    client.force_login(bob)

    response = client.post(
        "/organizations/acme/security/", {"require_two_factor": "on"}
    )

    assert response.status_code == 403
    assert not OrganizationPolicy.objects.filter(require_two_factor=True).exists()


def test_it_hides_the_policy_from_outsiders(client, charlie, org):
    client.force_login(charlie)

    response = client.get("/organizations/acme/security/")

    assert response.status_code == 404


def test_it_lists_members_without_two_factor(alice_client, org):
    response = alice_client.get("/organizations/acme/security/")

    listed = response.content.decode()
    assert "bob@example.org" in listed and "vera@example.org" in listed


def test_it_sends_a_member_without_two_factor_to_enrol(client, bob, org):
    _require(org)
    client.force_login(bob)

    response = client.get("/organizations/acme/")

    assert response["Location"] == "/account/security/two-factor/"


def test_it_lets_the_member_in_once_enrolled(client, bob, org):
    _require(org)
    client.force_login(bob)
    client.get("/account/security/two-factor/")
    device = TOTPDevice.objects.get(user=bob)
    client.post(
        "/account/security/two-factor/", {"code": pyotp.TOTP(device.secret).now()}
    )

    response = client.get("/organizations/acme/")

    assert response.status_code == 200


def test_it_leaves_members_of_other_organizations_alone(
    client, charlie, charlies_org, org
):
    _require(org)
    client.force_login(charlie)

    response = client.get("/organizations/umbrella/")

    assert response.status_code == 200


def test_it_refuses_to_turn_off_a_required_second_factor(client, bob, org):
    _require(org)
    client.force_login(bob)
    client.get("/account/security/two-factor/")
    device = TOTPDevice.objects.get(user=bob)
    code = pyotp.TOTP(device.secret).at(time.time())
    client.post("/account/security/two-factor/", {"code": code})

    response = client.post("/account/security/two-factor/off/", follow=True)

    assert TOTPDevice.objects.filter(user=bob).exists()
    assert b"requires two-factor authentication" in response.content


def test_it_links_the_policy_from_the_members_page(alice_client, org):
    response = alice_client.get("/organizations/acme/members/")

    assert b'href="/organizations/acme/security/"' in response.content
