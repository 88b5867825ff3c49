from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.ingest.auth import (
    MAX_KEY_LENGTH,
    find_public_key,
    key_from_dsn,
    parse_auth_header,
)
from fixtrail.ingest.exceptions import BadRequest

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(
    "header",
    [
        f"Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2",
        f"sentry sentry_key={KEY},sentry_version=7",
        f"SENTRY   sentry_version=7 ,  sentry_key={KEY}",
        f'Sentry sentry_key="{KEY}", sentry_version="7"',
        f"Sentry\tsentry_key={KEY}, sentry_secret=s3cr3t",
        f"sentry_key={KEY}, sentry_version=7",
    ],
)
def test_it_reads_the_key_from_auth_header_variants(header):
    assert parse_auth_header(header)["sentry_key"] == KEY


def test_it_reads_every_auth_header_pair():
    header = f"Sentry sentry_key={KEY}, sentry_version=7, sentry_client=raven-js/3.0"
    assert parse_auth_header(header) == {
        "sentry_key": KEY,
        "sentry_version": "7",
        "sentry_client": "raven-js/3.0",
    }


@pytest.mark.parametrize("header", ["Bearer abc", "Basic dXNlcjpwYXNz", "", "Sentry"])
def test_it_reads_nothing_from_other_schemes(header):
    assert parse_auth_header(header) == {}


def test_it_finds_the_key_in_x_sentry_auth():
    assert find_public_key(f"Sentry sentry_key={KEY}", None, "") == KEY


def test_it_finds_the_key_in_authorization():
    assert find_public_key(None, f"Sentry sentry_key={KEY}", "") == KEY


def test_it_finds_the_key_in_the_query_string():
    query = f"sentry_version=7&sentry_key={KEY}&sentry_client=sentry.javascript.browser"
    assert find_public_key(None, None, query) == KEY


def test_it_finds_the_key_in_the_envelope_dsn():
    dsn = f"https://{KEY}@errors.example.com/42"
    assert find_public_key(None, None, "", dsn) == KEY


def test_it_finds_the_key_in_a_dsn_with_a_secret():
    assert key_from_dsn(f"https://{KEY}:s3cr3t@errors.example.com/42") == KEY


def test_it_finds_no_key_in_a_dsn_without_user():
    assert key_from_dsn("https://errors.example.com/42") is None


def test_it_rejects_an_unreadable_dsn():
    with pytest.raises(BadRequest, match="^envelope dsn is not a valid URL$"):
        key_from_dsn("http://[::1/42")


def test_it_finds_nothing_without_credentials():
    assert find_public_key(None, "Bearer token", "a=b") is None


def test_it_accepts_the_same_key_in_every_place():
    found = find_public_key(
        f"Sentry sentry_key={KEY}",
        f"Sentry sentry_key={KEY}",
        f"sentry_key={KEY}",
        f"https://{KEY}@example.com/1",
    )
    assert found == KEY


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (f"Sentry sentry_key={KEY}", None, f"sentry_key={OTHER}", None),
            "^X-Sentry-Auth and the sentry_key parameter name different keys$",
        ),
        (
            (None, f"Sentry sentry_key={KEY}", "", f"https://{OTHER}@example.com/1"),
            "^Authorization and the envelope dsn name different keys$",
        ),
        (
            (f"Sentry sentry_key={KEY}", f"Sentry sentry_key={OTHER}", "", None),
            "^X-Sentry-Auth and Authorization name different keys$",
        ),
        (
            (None, None, f"sentry_key={KEY}&sentry_key={OTHER}", None),
            "^the sentry_key parameter and the sentry_key parameter "
            "name different keys$",
        ),
    ],
)
def test_it_rejects_conflicting_keys(args, message):
    with pytest.raises(BadRequest, match=message):
        find_public_key(*args)


def test_it_rejects_an_implausibly_long_key():
    with pytest.raises(
        BadRequest,
        match=f"^the key in X-Sentry-Auth is longer than {MAX_KEY_LENGTH} characters$",
    ):
        find_public_key("Sentry sentry_key=" + "a" * (MAX_KEY_LENGTH + 1), None, "")


def test_it_rejects_a_query_string_with_too_many_fields():
    query = "&".join(f"f{n}=1" for n in range(100)) + f"&sentry_key={KEY}"
    with pytest.raises(BadRequest, match="^query string has too many parameters$"):
        find_public_key(None, None, query)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=200)),
    st.one_of(st.none(), st.text(max_size=200)),
    st.text(max_size=200),
    st.one_of(st.none(), st.text(max_size=200)),
)
def test_it_finds_a_key_or_rejects_any_input_cleanly(auth, authorization, query, dsn):
    try:
        key = find_public_key(auth, authorization, query, dsn)
    except BadRequest as exc:
        assert exc.message
        return
    assert key is None or 0 < len(key) <= MAX_KEY_LENGTH
