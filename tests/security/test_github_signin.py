"""Sign in with GitHub through a stand-in that speaks GitHub's OAuth web
flow and REST API, driven through the real login flow: the login page's
button, GitHub's authorization redirect, the callback and its token
request, then the profile, e-mail, organization and team lookups."""

from __future__ import annotations

import re

import pytest

from fixtrail.accounts.models import Membership, Role, User
from fixtrail.security.models import UserSession
from tests.accounts.test_pages_browser import page  # noqa: F401  (fixture)
from tests.security.flows import sign_on
from tests.security.github_stand_in import CLIENT_ID, CLIENT_SECRET, GitHub

CALLBACK = "http://testserver/sso/github/login/callback/"


@pytest.fixture
def github(settings):
    stand_in = GitHub(redirect_uri=CALLBACK).start()
    settings.GITHUB_URL = stand_in.url
    settings.GITHUB_ORGS = ""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {
            "SCOPE": ["user:email", "read:org"],
            "APPS": [{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}],
        }
    }
    settings.SSO_DOMAIN_ORGS = ""
    settings.SSO_GROUP_ORGS = ""
    stand_in.user = {"login": "dana", "id": 4242, "name": "Dana Scully", "email": None}
    stand_in.emails = [
        {"email": "dana@example.org", "primary": True, "verified": True},
        {"email": "dana@old.example", "primary": False, "verified": False},
    ]
    stand_in.orgs = ["acme-gh"]
    stand_in.teams = ["acme-gh/platform"]
    yield stand_in
    stand_in.stop()


def _sign_in(client, github: GitHub, *, state: str | None = None):
    """Press the login page's GitHub button, let GitHub answer, come back
    (with another ``state`` than GitHub sent back, when given)."""

    def edit(query: str) -> str:
        if state is None:
            return query
        parts = query.split("&")
        return "&".join(
            f"state={state}" if p.startswith("state=") else p for p in parts
        )

    return sign_on(client, "/sso/github/login/", github.url, edit=edit)


def _signed_in(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_login_page_offers_github_only_when_configured(
    client, github, settings, db
):
    response = client.get("/login/")
    html = response.content.decode()
    assert "Sign in with GitHub" in html
    assert 'action="/sso/github/login/"' in html
    # The button's redirect to GitHub is a form target the page allows.
    assert f"form-action 'self' {github.url};" in response["Content-Security-Policy"]
    settings.SOCIALACCOUNT_PROVIDERS = {}
    response = client.get("/login/")
    assert "Sign in with GitHub" not in response.content.decode()
    assert "form-action 'self';" in response["Content-Security-Policy"]


def test_it_signs_in_a_new_person_with_their_verified_primary_email(client, github, db):
    response = _sign_in(client, github)

    user = _signed_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    assert user is not None and user.email == "dana@example.org"
    assert UserSession.objects.get(user=user).method == UserSession.Method.SSO
    assert github.errors == []


def test_it_grants_membership_by_github_organization_and_team(
    client, github, org, settings
):
    settings.SSO_GROUP_ORGS = "acme-gh=acme:viewer,acme-gh/platform=acme:admin"

    _sign_in(client, github)

    membership = Membership.objects.get(user__email="dana@example.org")
    assert (membership.organization, membership.role) == (org, Role.ADMIN)


def test_it_signs_an_existing_account_in_by_its_verified_email(client, github, alice):
    github.emails = [{"email": "alice@example.org", "primary": True, "verified": True}]

    _sign_in(client, github)

    assert _signed_in(client) == alice
    assert User.objects.filter(email="alice@example.org").count() == 1


def test_an_unverified_email_matches_no_account_and_grants_nothing(
    client, github, alice, org, settings
):
    settings.SSO_DOMAIN_ORGS = "example.org=acme:member"
    github.orgs, github.teams = [], []
    github.emails = [{"email": "alice@example.org", "primary": True, "verified": False}]

    _sign_in(client, github)

    assert _signed_in(client) != alice
    assert not Membership.objects.exclude(user__email__in=[
        "alice@example.org", "bob@example.org", "vera@example.org"
    ]).exists()  # fmt: skip


def test_it_refuses_someone_outside_the_required_organization(
    client, github, settings, db
):
    settings.GITHUB_ORGS = "initech"

    response = _sign_in(client, github)

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert _signed_in(client) is None
    assert not User.objects.filter(email="dana@example.org").exists()
    html = client.get("/login/").content.decode()
    assert "Only members of the GitHub organization initech may sign in here." in html


def test_it_admits_a_member_of_the_required_organization(client, github, settings, db):
    settings.GITHUB_ORGS = "initech, ACME-GH"

    _sign_in(client, github)

    assert _signed_in(client).email == "dana@example.org"


def test_it_refuses_a_callback_with_another_state(client, github, db):
    _sign_in(client, github, state="forged")

    assert _signed_in(client) is None
    assert not User.objects.filter(email="dana@example.org").exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_signs_in_from_the_login_pages_button_in_chromium(
    page,  # noqa: F811
    live_server,
    settings,
):
    stand_in = GitHub(redirect_uri=f"{live_server.url}/sso/github/login/callback/")
    stand_in.start()
    try:
        settings.GITHUB_URL = stand_in.url
        settings.GITHUB_ORGS = ""
        settings.SOCIALACCOUNT_PROVIDERS = {
            "github": {"APPS": [{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}]}
        }
        stand_in.user = {"login": "dana", "id": 7, "name": "Dana", "email": None}
        stand_in.emails = [
            {"email": "dana@example.org", "primary": True, "verified": True}
        ]
        page.goto(f"{live_server.url}/login/")
        page.click("text=Sign in with GitHub")
        page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/$"))
        assert User.objects.get().email == "dana@example.org"
        assert stand_in.errors == []
    finally:
        stand_in.stop()
