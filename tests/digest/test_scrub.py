from __future__ import annotations

import pytest

from fixtrail.digest.normalize import NormalizeOptions, normalize_event
from fixtrail.digest.scrub import (
    FILTERED,
    MAX_CACHED_TEXT_CHARS,
    Scrubber,
    TextCache,
    keys_from_text,
    luhn_valid,
)

RECEIVED_AT = 1735787045.0


def normalize(data, **options):
    return normalize_event(
        data, received_at=RECEIVED_AT, options=NormalizeOptions(**options)
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("password", True),
        ("db_password", True),
        ("PASSWD", True),
        ("client_secret", True),
        ("access_token", True),
        ("X-Api-Key", True),
        ("apiKey", True),
        ("Authorization", True),
        ("auth", True),
        ("credentials", True),
        ("Cookie", True),
        ("Set-Cookie", True),
        ("sessionid", True),
        ("X-CSRFToken", True),
        ("private_key", True),
        ("privateKey", True),
        ("sentry_key", True),
        ("cvv", True),
        ("card_cvc", True),
        ("username", False),
        ("email", False),
        ("ip_address", False),
        ("PWD", False),
    ],
)
def test_it_recognizes_sensitive_keys(key, expected):
    assert Scrubber().is_sensitive_key(key) is expected


def test_it_adds_a_projects_extra_keys():
    scrubber = Scrubber(["iban", " Social-Security "])

    assert scrubber.is_sensitive_key("customer_IBAN") is True
    assert scrubber.is_sensitive_key("social_security_number") is True
    assert scrubber.is_sensitive_key("name") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 declined", f"card {FILTERED} declined"),
        ("4111-1111-1111-1111", FILTERED),
        ("amex 378282246310005", f"amex {FILTERED}"),
        ("mc 5555555555554444.", f"mc {FILTERED}."),
        # Fails the Luhn check.
        ("4111 1111 1111 1112", "4111 1111 1111 1112"),
        # Millisecond timestamps start with 1 and are not cards.
        ("at 1735787045123 ms", "at 1735787045123 ms"),
        # Part of a longer run of digits.
        ("41111111111111110000000", "41111111111111110000000"),
        (
            "GET https://o1.example/api/1/envelope/?sentry_key=abc123&sentry_version=7",
            f"GET https://o1.example/api/1/envelope/?sentry_key={FILTERED}&sentry_version=7",
        ),
        ("short", "short"),
    ],
)
def test_it_scrubs_secrets_inside_text(text, expected):
    assert Scrubber().scrub_text(text) == expected
    # Seen again, the cached answer is the same.
    assert Scrubber().scrub_text(text) == expected


def _fresh(text: str) -> str:
    # An equal string that is not the same object, as each parsed event
    # brings its own copies of the texts.
    return "".join(list(text))


def test_the_text_cache_answers_as_a_scan_does():
    cache = TextCache()
    clean, secret = "plain text of some length", "card 4111 1111 1111 1111"

    first, again = _fresh(clean), _fresh(clean)
    assert cache.scrub(first) is first
    # Unchanged texts come back as the caller's own object, cached or not:
    # normalization counts a text as filtered when it gets another one.
    assert cache.scrub(again) is again
    assert cache.scrub(_fresh(secret)) == f"card {FILTERED}"
    assert cache.scrub(_fresh(secret)) == f"card {FILTERED}"
    assert set(cache.texts) == {clean, secret}


def test_the_text_cache_stays_within_its_budget():
    cache = TextCache(budget=100)
    for n in range(50):
        cache.scrub(f"a text of thirty characters {n:02}")

    assert cache.chars <= 100
    assert 0 < len(cache.texts) <= 3
    assert cache.scrub("a text of thirty characters 49") == (
        "a text of thirty characters 49"
    )


def test_the_text_cache_scans_long_texts_each_time():
    cache = TextCache()
    long_text = "x" * MAX_CACHED_TEXT_CHARS + " 4111 1111 1111 1111"

    assert cache.scrub(long_text).endswith(FILTERED)
    assert cache.texts == {}


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("0", True),
        ("18", True),
    ],
)
def test_it_checks_luhn(digits, expected):
    assert luhn_valid(digits) is expected


def test_it_reads_keys_one_per_line():
    assert keys_from_text("iban\n\n  # comment\nssn  # tax id\n") == ("iban", "ssn")


# -- through normalization ----------------------------------------------------


def test_it_filters_sensitive_values_everywhere_by_default():
    event = normalize(
        {
            "extra": {
                "password": "hunter2",
                "nested": {"api_key": {"a": 1}},
                "ok": "v",
            },
            "contexts": {"app": {"auth_token": "t", "name": "shop"}},
            "user": {"id": 1, "session": "s"},
            "breadcrumbs": [{"message": "login", "data": {"csrf": "c"}}],
            "exception": [
                {
                    "type": "E",
                    "stacktrace": {
                        "frames": [{"function": "f", "vars": {"secret": "x", "n": 1}}]
                    },
                }
            ],
        }
    )

    assert event.data["extra"] == {
        "password": FILTERED,
        "nested": {"api_key": FILTERED},
        "ok": "v",
    }
    assert event.data["contexts"] == {"app": {"auth_token": FILTERED, "name": "shop"}}
    assert event.data["user"] == {"id": "1", "data": {"session": FILTERED}}
    assert event.data["breadcrumbs"]["values"][0]["data"] == {"csrf": FILTERED}
    frame = event.data["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"] == {"secret": FILTERED, "n": 1}


def test_it_leaves_empty_sensitive_values_alone():
    event = normalize({"extra": {"password": "", "token": None}})

    assert event.data["extra"] == {"password": "", "token": None}


def test_it_filters_request_secrets():
    event = normalize(
        {
            "request": {
                "url": "https://shop.example.com/cb?sentry_key=abc&code=1",
                "headers": {
                    "Authorization": "Bearer abc",
                    "Cookie": "sessionid=xyz",
                    "Set-Cookie": "a=b",
                    "Accept": "*/*",
                },
                "cookies": "sessionid=xyz; theme=dark",
                "data": {
                    "card": "4111 1111 1111 1111",
                    "password": "pw",
                    "name": "Jane",
                },
                "env": {"HTTP_AUTHORIZATION": "Basic x", "SERVER_NAME": "web-3"},
            }
        }
    )

    assert event.data["request"] == {
        "url": "https://shop.example.com/cb",
        "query_string": [["sentry_key", FILTERED], ["code", "1"]],
        "headers": [
            ["Authorization", FILTERED],
            ["Cookie", FILTERED],
            ["Set-Cookie", FILTERED],
            ["Accept", "*/*"],
        ],
        "cookies": FILTERED,
        "data": {"card": FILTERED, "password": FILTERED, "name": "Jane"},
        "env": {"HTTP_AUTHORIZATION": FILTERED, "SERVER_NAME": "web-3"},
    }


def test_it_filters_card_numbers_in_messages_and_exception_values():
    event = normalize(
        {
            "message": "charge 4111111111111111 failed",
            "exception": [
                {"type": "CardError", "value": "bad card 4111 1111 1111 1111"}
            ],
        }
    )

    assert event.message == f"charge {FILTERED} failed"
    assert event.value == f"bad card {FILTERED}"


def test_it_filters_the_sentry_key_in_breadcrumb_urls():
    event = normalize(
        {
            "breadcrumbs": [
                {"data": {"url": "https://x.example/api/1/store/?sentry_key=k1"}}
            ]
        }
    )

    assert event.data["breadcrumbs"]["values"][0]["data"] == {
        "url": f"https://x.example/api/1/store/?sentry_key={FILTERED}"
    }


def test_it_filters_tag_values_under_sensitive_keys():
    event = normalize({"tags": {"session_id": "abc", "shard": "eu"}})

    assert event.data["tags"] == [["session_id", FILTERED], ["shard", "eu"]]


def test_it_filters_a_projects_extra_keys():
    event = normalize({"extra": {"iban": "DE89", "name": "x"}}, scrub_fields=("iban",))

    assert event.data["extra"] == {"iban": FILTERED, "name": "x"}


def test_it_notes_what_was_filtered():
    event = normalize({"extra": {"password": "a", "token": "b"}})

    assert event.notes == ["extra: 2 values filtered"]


def test_it_keeps_everything_when_scrubbing_is_off():
    event = normalize(
        {
            "extra": {"password": "hunter2"},
            "message": "card 4111 1111 1111 1111",
            "request": {"headers": {"Cookie": "a=b"}, "cookies": {"a": "b"}},
        },
        scrub_data=False,
    )

    assert event.data["extra"] == {"password": "hunter2"}
    assert event.message == "card 4111 1111 1111 1111"
    assert event.data["request"] == {
        "headers": [["Cookie", "a=b"]],
        "cookies": [["a", "b"]],
    }


def test_it_drops_ip_addresses_when_the_project_says_so():
    event = normalize(
        {
            "user": {"id": 1, "ip_address": "203.0.113.7", "geo": {"city": "Graz"}},
            "request": {
                "headers": {"X-Forwarded-For": "203.0.113.7", "Accept": "*/*"},
                "env": {"REMOTE_ADDR": "203.0.113.7", "SERVER_PORT": "443"},
            },
        },
        scrub_ip_addresses=True,
    )

    assert event.data["user"] == {"id": "1"}
    assert event.data["request"] == {
        "headers": [["Accept", "*/*"]],
        "env": {"SERVER_PORT": "443"},
    }
    assert event.user_key == "id:1"
    # Kept in memory only, for the localhost filter.
    assert event.user_ip == "203.0.113.7"
    assert "203.0.113.7" not in str(event.data)


def test_it_drops_the_auto_filled_ip_too():
    event = normalize(
        {"user": {"ip_address": "{{auto}}"}},
        scrub_ip_addresses=True,
    )

    assert "user" not in event.data
    assert event.user_key is None


def test_it_keeps_ip_addresses_by_default():
    event = normalize({"user": {"ip_address": "203.0.113.7"}})

    assert event.data["user"] == {"ip_address": "203.0.113.7"}
    assert event.user_key == "ip:203.0.113.7"
