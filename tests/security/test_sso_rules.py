"""The membership rules single sign-on applies (pure functions)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from fixtrail.security.checks import check_sign_in
from fixtrail.security.sso import Rule, grants_for, parse_rules


def test_it_parses_rules_with_a_default_role():
    rules = parse_rules(" example.com=acme , Ops=ops:admin,", "X")

    assert rules == [Rule("example.com", "acme", "member"), Rule("ops", "ops", "admin")]


@pytest.mark.parametrize(
    "text", ["example.com", "=acme", "x=acme:owner", "x=acme:boss"]
)
def test_it_names_the_setting_of_a_bad_rule(text):
    with pytest.raises(ImproperlyConfigured, match="^FIXTRAIL_SSO_GROUP_ORGS: "):
        parse_rules(text, "FIXTRAIL_SSO_GROUP_ORGS")


def test_it_grants_by_domain_only_for_a_verified_address():
    rules = [Rule("example.com", "acme", "member")]

    verified = grants_for("a@Example.com", True, [], rules, [])
    unverified = grants_for("a@example.com", False, [], rules, [])

    assert verified == {"acme": "member"}
    assert unverified == {}


def test_it_keeps_the_higher_role_when_rules_overlap():
    grants = grants_for(
        "a@example.com",
        True,
        ["SRE", "dev"],
        [Rule("example.com", "acme", "viewer")],
        [Rule("sre", "acme", "admin"), Rule("dev", "acme", "member")],
    )

    assert grants == {"acme": "admin"}


def test_it_grants_nothing_without_a_match():
    assert (
        grants_for("a@other.org", True, ["x"], [], [Rule("y", "acme", "member")]) == {}
    )


def test_it_reports_a_bad_rule_as_a_system_check(settings):
    settings.SSO_GROUP_ORGS = "platform=acme:boss"

    errors = check_sign_in(None)

    assert [e.id for e in errors] == ["fixtrail.E301"]
    assert "FIXTRAIL_SSO_GROUP_ORGS: 'platform=acme:boss'" in errors[0].msg


def test_it_warns_when_nobody_could_sign_in(settings):
    settings.PASSWORD_LOGIN = False
    settings.OIDC_SERVER_URL = ""

    assert [e.id for e in check_sign_in(None)] == ["fixtrail.W301"]
