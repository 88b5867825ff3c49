"""Single sign-on through a stand-in OpenID Connect provider, driven
through the real login flow: Fixtrail's login page, the provider's
authorization redirect, Fixtrail's callback and its token request."""

from __future__ import annotations

import pytest

from fixtrail.accounts.models import Membership, Role, User
from fixtrail.security.models import OrganizationPolicy, UserSession
from tests.security.flows import sign_on
from tests.security.oidc_stand_in import CLIENT_ID, CLIENT_SECRET, Provider

CALLBACK = "http://testserver/sso/oidc/login/callback/"


@pytest.fixture
def provider(settings):
    stand_in = Provider(redirect_uri=CALLBACK).start()
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "SCOPE": ["openid", "profile", "email"],
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Acme ID",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": stand_in.url},
                }
            ],
        }
    }
    settings.SSO_DOMAIN_ORGS = ""
    settings.SSO_GROUP_ORGS = ""
    yield stand_in
    stand_in.stop()


def _person(**overrides) -> dict:
    return {
        "sub": "u-1001",
        "email": "dana@example.org",
        "email_verified": True,
        "name": "Dana Scully",
        "groups": ["staff"],
        **overrides,
    }


def _sign_in(client, provider: Provider, next_url: str = ""):
    """Press the login page's button, let the provider answer, come back."""
    return sign_on(client, f"/sso/oidc/login/{next_url}", provider.url)


def test_it_shows_the_sign_on_button_on_the_login_page(client, provider):
    page = client.get("/login/").content.decode()

    assert "Sign in with Acme ID" in page
    assert 'action="/sso/oidc/login/"' in page


def test_it_signs_in_a_new_person_and_creates_their_account(client, provider, db):
    provider.user = _person()

    response = _sign_in(client, provider)

    user = User.objects.get(email="dana@example.org")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert UserSession.objects.get(user=user).method == UserSession.Method.SSO
    assert provider.tokens_issued == 1
    assert provider.errors == []


def test_it_signs_in_an_existing_account_with_the_same_verified_email(
    client, provider, alice
):
    provider.user = _person(email="alice@example.org")

    _sign_in(client, provider)

    assert client.session["_auth_user_id"] == str(alice.pk)
    assert User.objects.filter(email="alice@example.org").count() == 1


def test_it_grants_membership_by_email_domain(client, provider, org, settings):
    settings.SSO_DOMAIN_ORGS = "example.org=acme:viewer"
    provider.user = _person()

    _sign_in(client, provider)

    membership = Membership.objects.get(user__email="dana@example.org")
    assert membership.organization == org
    assert membership.role == Role.VIEWER


def test_it_grants_the_higher_role_of_a_group_claim(client, provider, org, settings):
    settings.SSO_DOMAIN_ORGS = "example.org=acme:viewer"
    settings.SSO_GROUP_ORGS = "staff=acme:admin"
    provider.user = _person()

    _sign_in(client, provider)

    assert Membership.objects.get(user__email="dana@example.org").role == Role.ADMIN


def test_it_grants_nothing_for_an_unverified_email(client, provider, org, settings):
    settings.SSO_DOMAIN_ORGS = "example.org=acme:member"
    provider.user = _person(email_verified=False, groups=[])

    _sign_in(client, provider)

    assert not Membership.objects.filter(user__email="dana@example.org").exists()


def test_it_keeps_an_existing_role(client, provider, org, bob, settings):
    settings.SSO_GROUP_ORGS = "staff=acme:viewer"
    provider.user = _person(email="bob@example.org")

    _sign_in(client, provider)

    assert Membership.objects.get(user=bob, organization=org).role == Role.MEMBER


def test_it_refuses_new_people_when_sign_up_is_off(client, provider, settings, db):
    settings.SSO_SIGNUP = False
    provider.user = _person()

    response = _sign_in(client, provider)

    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="dana@example.org").exists()
    assert b"does not create accounts through single sign-on" in response.content


def test_it_refuses_a_callback_with_a_forged_state(client, provider, db):
    provider.user = _person()
    client.post("/sso/oidc/login/")

    response = client.get("/sso/oidc/login/callback/?code=made-up&state=forged")

    assert "_auth_user_id" not in client.session
    assert b"Single sign-on failed" in response.content
    assert provider.tokens_issued == 0


def test_it_leaves_two_factor_to_the_provider(client, provider, org, settings):
    settings.SSO_DOMAIN_ORGS = "example.org=acme:member"
    OrganizationPolicy.objects.create(organization=org, require_two_factor=True)
    provider.user = _person()
    _sign_in(client, provider)

    response = client.get("/organizations/acme/")

    assert response.status_code == 200


def test_it_offers_only_single_sign_on_when_passwords_are_off(
    client, provider, settings
):
    settings.PASSWORD_LOGIN = False

    page = client.get("/login/").content.decode()

    assert "Sign in with Acme ID" in page
    assert 'name="password"' not in page
