"""What normalization derives: culprit, title, user identity, IP, tags, search text."""

from __future__ import annotations

import pytest

from fixtrail.digest.fingerprint_rules import parse_stacktrace_rules
from fixtrail.digest.normalize import NormalizeOptions
from tests.digest.normalize.helpers import (
    make_exception,
    make_frame,
    normalize,
)


def test_it_derives_the_culprit_from_the_innermost_in_app_frame():
    frames = [
        make_frame(module="shop.views", function="checkout"),
        make_frame(module="shop.pricing", function="price"),
        make_frame(module="decimal", function="__truediv__", in_app=False),
    ]
    event = normalize({"exception": [make_exception(stacktrace={"frames": frames})]})

    assert event.culprit == "shop.pricing in price"


def test_it_derives_the_culprit_from_the_transaction_first():
    event = normalize({"transaction": "/checkout/", "exception": [make_exception()]})

    assert event.culprit == "/checkout/"


def test_it_uses_the_innermost_frame_without_in_app_frames():
    frames = [
        make_frame(function="a", in_app=False),
        make_frame(function="b", in_app=False),
    ]
    event = normalize({"exception": [make_exception(stacktrace={"frames": frames})]})

    assert event.culprit == "shop.pricing in b"


def test_it_applies_stack_trace_rules_before_choosing_the_culprit():
    frames = [
        make_frame(module="shop.views", function="checkout"),
        make_frame(module="shop.vendor.money", function="div"),
    ]
    options = NormalizeOptions(
        stacktrace_rules=parse_stacktrace_rules("module:shop.vendor.* -app")
    )
    event = normalize(
        {"exception": [make_exception(stacktrace={"frames": frames})]}, options=options
    )

    assert event.culprit == "shop.views in checkout"
    assert (
        event.data["exception"]["values"][0]["stacktrace"]["frames"][1]["in_app"]
        is False
    )


def test_it_titles_an_exception_without_value_by_its_type():
    event = normalize({"exception": [make_exception(value=None)]})

    assert event.title == "ZeroDivisionError"


def test_it_titles_by_the_first_line_of_the_value():
    event = normalize({"exception": [make_exception(value="first\nsecond")]})

    assert event.title == "ZeroDivisionError: first"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"id": 42, "email": "a@example.com"}, "id:42"),
        ({"id": "u-1"}, "id:u-1"),
        ({"email": "a@example.com", "username": "a"}, "email:a@example.com"),
        ({"username": "a"}, "username:a"),
        ({"ip_address": "10.0.0.1"}, "ip:10.0.0.1"),
        ({}, None),
        ("nope", None),
    ],
)
def test_it_derives_the_user_identity(user, expected):
    assert normalize({"user": user}).user_key == expected


def test_it_turns_integer_user_ids_into_text():
    event = normalize({"user": {"id": 4711, "plan": "pro"}})

    assert event.data["user"] == {"id": "4711", "data": {"plan": "pro"}}


def test_it_fills_in_the_client_ip_when_the_sdk_asks_for_it():
    event = normalize({"user": {"ip_address": "{{auto}}"}}, client_ip="203.0.113.7")

    assert event.data["user"] == {"ip_address": "203.0.113.7"}
    assert event.user_ip == "203.0.113.7"


def test_it_infers_the_ip_when_the_sdk_settings_say_auto():
    event = normalize(
        {"sdk": {"settings": {"infer_ip": "auto"}}}, client_ip="203.0.113.7"
    )

    assert event.data["user"] == {"ip_address": "203.0.113.7"}


def test_it_does_not_infer_the_ip_otherwise():
    event = normalize({"platform": "javascript"}, client_ip="203.0.113.7")

    assert "user" not in event.data


def test_it_drops_an_invalid_ip_address():
    event = normalize({"user": {"ip_address": "not-an-ip"}})

    assert "user" not in event.data
    assert event.notes == ["user.ip_address: not an IP address; dropped"]


def test_it_derives_tags_the_sdk_did_not_set():
    event = normalize(
        {
            "level": "warning",
            "environment": "production",
            "release": "app@1",
            "tags": {"environment": "staging", "shard": "eu"},
            "exception": [
                make_exception(mechanism={"type": "django", "handled": False})
            ],
            "request": {"url": "https://shop.example.com/cart?x=1"},
            "contexts": {
                "browser": {"name": "Chrome", "version": "120.0"},
                "runtime": {"name": "CPython"},
            },
            "user": {"id": 7},
        }
    )

    assert event.tags == [
        ("environment", "staging"),
        ("shard", "eu"),
        ("level", "warning"),
        ("release", "app@1"),
        ("handled", "no"),
        ("mechanism", "django"),
        ("url", "https://shop.example.com/cart"),
        ("browser", "Chrome 120.0"),
        ("browser.name", "Chrome"),
        ("runtime", "CPython"),
        ("runtime.name", "CPython"),
        ("user", "id:7"),
    ]
    assert event.handled is False


def test_it_builds_search_text():
    event = normalize(
        {
            "transaction": "/cart",
            "exception": [make_exception()],
            "message": "while pricing",
        }
    )

    assert event.search_text == (
        "ZeroDivisionError: division by zero\n/cart\nwhile pricing\n"
        "ZeroDivisionError: division by zero\n/cart"
    )
