from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtrail.digest.fingerprint_rules import parse_stacktrace_rules
from fixtrail.digest.normalize import InvalidEvent, NormalizeOptions, normalize_event
from fixtrail.digest.normalize.limits import (
    FRAME_VARS_MAX_DEPTH,
    FRAME_VARS_MAX_ITEMS,
    MAX_BREADCRUMBS,
    MAX_EXCEPTIONS,
    MAX_FRAMES_PER_STACKTRACE,
    MAX_MESSAGE_CHARS,
    MAX_TAG_VALUE_CHARS,
    TRIMMED,
)
from fixtrail.digest.normalize.message import format_template
from fixtrail.digest.normalize.top_level import parse_timestamp
from tests.conftest import CORPUS_FILES

# 2025-01-02T03:04:05Z, the server clock in every test.
RECEIVED_AT = 1735787045.0
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def normalize(data, **kwargs):
    return normalize_event(data, received_at=RECEIVED_AT, **kwargs)


def make_frame(**overrides):
    frame = {
        "module": "shop.pricing",
        "function": "price",
        "filename": "shop/pricing.py",
        "lineno": 12,
        "context_line": "    return total / count",
        "in_app": True,
    }
    frame.update(overrides)
    return frame


def make_exception(**overrides):
    exc = {
        "type": "ZeroDivisionError",
        "value": "division by zero",
        "stacktrace": {"frames": [make_frame()]},
    }
    exc.update(overrides)
    return exc


# -- top level ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ([], "array"),
        ("event", "string"),
        (3, "number"),
        (None, "null"),
        (True, "boolean"),
    ],
)
def test_it_rejects_a_top_level_that_is_not_an_object(data, kind):
    with pytest.raises(
        InvalidEvent, match=f"^an event must be a JSON object, not {kind}$"
    ):
        normalize(data)


def test_it_normalizes_an_empty_object_to_the_minimal_form():
    event = normalize({})

    assert event.data == {
        "event_id": "",
        "platform": "other",
        "timestamp": RECEIVED_AT,
        "received": RECEIVED_AT,
        "level": "error",
    }
    assert event.title == "<unlabeled event>"
    assert event.culprit == ""
    assert event.notes == []


def test_it_does_not_modify_its_input():
    data = {
        "exception": [make_exception()],
        "tags": [["a", 1]],
        "request": {"url": "http://x/?a=1", "headers": {"Cookie": "a=b"}},
        "extra": {"password": "x", "card": "4111 1111 1111 1111"},
    }
    before = copy.deepcopy(data)

    normalize(data)

    assert data == before


def test_it_prefers_the_callers_event_id():
    event = normalize({"event_id": "0" * 32}, event_id=EVENT_ID)

    assert event.event_id == EVENT_ID


def test_it_accepts_an_event_id_with_dashes():
    event = normalize({"event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC"})

    assert event.event_id == EVENT_ID


def test_it_drops_an_invalid_event_id_with_a_note():
    event = normalize({"event_id": "nope"})

    assert event.event_id == ""
    assert event.notes == ["event_id: not 32 hexadecimal characters; dropped"]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("python", "python"),
        ("JavaScript", "javascript"),
        ("crystal", "other"),
        (None, "other"),
    ],
)
def test_it_maps_unknown_platforms_to_other(platform, expected):
    assert normalize({"platform": platform}).platform == expected


def test_it_notes_an_unknown_platform():
    assert normalize({"platform": "crystal"}).notes == [
        "platform: unknown platform 'crystal'; used 'other'"
    ]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("error", "error"),
        ("WARN", "warning"),
        ("critical", "fatal"),
        ("log", "info"),
        ("trace", "debug"),
        (40, "error"),
        (30, "warning"),
        (5, "debug"),
        ("bogus", "error"),
        (None, "error"),
    ],
)
def test_it_normalizes_levels(level, expected):
    assert normalize({"level": level}).level == expected


def test_it_drops_unknown_top_level_fields_with_a_note():
    event = normalize({"zzz": 1, "aaa": 2, "_meta": {}, "errors": []})

    assert "zzz" not in event.data
    assert event.notes == ["dropped unknown fields: aaa, zzz"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("release", " app@1.0 ", "app@1.0"),
        ("release", 42, "42"),
        ("environment", "production", "production"),
        ("server_name", "web-3", "web-3"),
        ("transaction", "/checkout", "/checkout"),
        ("logger", "shop.orders", "shop.orders"),
    ],
)
def test_it_keeps_short_text_fields(name, value, expected):
    event = normalize({name: value})

    assert event.data[name] == expected
    assert getattr(event, name) == expected


def test_it_drops_a_short_field_of_the_wrong_type_with_a_note():
    event = normalize({"release": {"v": 1}})

    assert "release" not in event.data
    assert event.release is None
    assert event.notes == ["release: expected a string, got object; dropped"]


# -- timestamps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1735787000.5, 1735787000.5),
        (1735787000, 1735787000.0),
        ("1735787000.5", 1735787000.5),
        ("2025-01-02T03:03:20Z", 1735787000.0),
        ("2025-01-02T03:03:20.132514327Z", 1735787000.132514),
        ("2025-01-02T04:03:20+01:00", 1735787000.0),
        ("2025-01-02T03:03:20", 1735787000.0),
        ("yesterday", None),
        ("", None),
        ({"t": 1}, None),
        (True, None),
    ],
)
def test_it_parses_timestamps(value, expected):
    assert parse_timestamp(value) == expected


def test_it_uses_the_event_timestamp():
    assert normalize({"timestamp": "2025-01-02T03:03:20Z"}).timestamp == 1735787000.0


def test_it_falls_back_to_the_time_received_without_a_timestamp():
    event = normalize({})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == []


def test_it_falls_back_to_the_time_received_for_an_unreadable_timestamp():
    event = normalize({"timestamp": "soon"})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == ["timestamp: unreadable; used the time received"]


@pytest.mark.parametrize("offset", [3600.0, -31 * 24 * 3600.0])
def test_it_falls_back_to_the_time_received_for_an_absurd_timestamp(offset):
    event = normalize({"timestamp": RECEIVED_AT + offset})

    assert event.timestamp == RECEIVED_AT
    assert event.notes == [
        "timestamp: too far from the time received; used that instead"
    ]


def test_it_corrects_clock_drift_of_a_minute_or_more():
    # The device clock is two hours behind the server's.
    event = normalize({"timestamp": RECEIVED_AT - 7200 - 5}, clock_drift=7200.0)

    assert event.timestamp == RECEIVED_AT - 5
    assert event.notes == ["timestamp: corrected by 7200 s of clock drift"]


def test_it_ignores_clock_drift_below_a_minute():
    event = normalize({"timestamp": RECEIVED_AT - 5}, clock_drift=0.4)

    assert event.timestamp == RECEIVED_AT - 5


# -- messages -----------------------------------------------------------------


def test_it_accepts_message_as_a_string():
    event = normalize({"message": "hello world"})

    assert event.data["logentry"] == {"formatted": "hello world"}
    assert event.message == "hello world"
    assert event.title == "hello world"


def test_it_accepts_message_as_an_object():
    event = normalize({"message": {"message": "hi %s", "params": ["bob"]}})

    assert event.data["logentry"] == {
        "formatted": "hi bob",
        "message": "hi %s",
        "params": ["bob"],
    }


def test_it_accepts_logentry_as_a_string():
    event = normalize({"logentry": "plain"})

    assert event.data["logentry"] == {"formatted": "plain"}


def test_it_keeps_the_sdks_formatted_message():
    event = normalize(
        {"logentry": {"message": "hi %s", "params": ["bob"], "formatted": "hi Bob!"}}
    )

    assert event.message == "hi Bob!"
    assert event.data["logentry"]["message"] == "hi %s"


def test_it_takes_the_formatted_text_from_message_when_logentry_has_only_a_template():
    event = normalize({"logentry": {"message": "hi %s"}, "message": "hi bob"})

    assert event.data["logentry"] == {"formatted": "hi bob", "message": "hi %s"}


def test_it_converts_a_message_that_is_not_text():
    event = normalize({"message": {"message": {"a": 1}}})

    assert event.message == '{"a":1}'
    assert event.notes == ["message.message: expected a string, got object; converted"]


def test_it_shortens_long_messages():
    event = normalize({"message": "x" * (MAX_MESSAGE_CHARS + 10)})

    assert len(event.message) == MAX_MESSAGE_CHARS
    assert event.message.endswith("…")
    assert event.notes == [
        f"logentry.formatted: shortened to {MAX_MESSAGE_CHARS} characters"
    ]


@pytest.mark.parametrize(
    ("template", "params", "expected"),
    [
        ("hi %s", ["bob"], "hi bob"),
        ("%s + %d = %i", ["a", 1, 2], "a + 1 = 2"),
        ("%(one)s and %(two)s", {"one": 1, "two": "b"}, "1 and b"),
        ("%r", ["x"], "'x'"),
        ("100%% of %s", ["them"], "100% of them"),
        ("%-10s|%05.2f", ["a", 1.5], "a|1.5"),
        ("%999999999s", ["pad"], "pad"),
        ("%s %s", ["only one"], "only one %s"),
        ("%(missing)s", {"other": 1}, "%(missing)s"),
        ("{} and {}", ["a", "b"], "a and b"),
        ("{1} then {0}", ["a", "b"], "b then a"),
        ("{name}!", {"name": "bob"}, "bob!"),
        ("{0:>10} {{literal}}", ["x"], "x {literal}"),
        ("{9}", ["x"], "{9}"),
        ("value %s", [None], "value None"),
        ("value %s", [{"k": [1]}], 'value {"k":[1]}'),
        ("no placeholders", ["x"], "no placeholders"),
        ("hi %s", "bob", "hi bob"),
        ("hi %s", None, "hi %s"),
    ],
)
def test_it_formats_templates_safely(template, params, expected):
    assert format_template(template, params) == expected


# -- exceptions and stack traces ----------------------------------------------


def test_it_accepts_exception_as_a_list():
    event = normalize({"exception": [make_exception()]})

    assert event.data["exception"]["values"][0]["type"] == "ZeroDivisionError"


def test_it_accepts_exception_as_values():
    event = normalize({"exception": {"values": [make_exception()]}})

    assert event.type == "ZeroDivisionError"
    assert event.value == "division by zero"
    assert event.title == "ZeroDivisionError: division by zero"


def test_it_accepts_a_single_exception_object():
    event = normalize({"exception": make_exception()})

    assert event.type == "ZeroDivisionError"


def test_it_takes_the_last_exception_of_the_chain_as_the_main_one():
    event = normalize(
        {
            "exception": [
                make_exception(type="KeyError", value="'x'"),
                make_exception(type="RuntimeError", value="wrapped"),
            ]
        }
    )

    assert event.title == "RuntimeError: wrapped"


def test_it_keeps_exception_group_links():
    mechanism = {
        "type": "chained",
        "handled": False,
        "exception_id": 1,
        "parent_id": 0,
        "source": "exceptions[0]",
    }
    root = {"type": "excepthook", "exception_id": 0, "is_exception_group": True}
    event = normalize(
        {
            "exception": [
                make_exception(type="ValueError", mechanism=mechanism),
                make_exception(type="ExceptionGroup", value="boom", mechanism=root),
            ]
        }
    )

    values = event.data["exception"]["values"]
    assert values[0]["mechanism"] == mechanism
    assert values[1]["mechanism"] == root
    assert event.handled is None


@pytest.mark.parametrize(
    "stacktrace",
    [None, {"frames": None}, {"frames": []}, {}, {"frames": [None, 3]}],
)
def test_it_drops_empty_stack_traces(stacktrace):
    event = normalize({"exception": [make_exception(stacktrace=stacktrace)]})

    assert "stacktrace" not in event.data["exception"]["values"][0]
    assert event.title == "ZeroDivisionError: division by zero"


def test_it_notes_frames_that_are_not_objects():
    event = normalize(
        {"exception": [make_exception(stacktrace={"frames": [None, make_frame()]})]}
    )

    assert len(event.data["exception"]["values"][0]["stacktrace"]["frames"]) == 1
    assert event.notes == [
        "exception.values.0.stacktrace.frames: dropped 1 frames that were not objects"
    ]


def test_it_drops_exceptions_with_nothing_in_them():
    event = normalize({"exception": [{}, None, make_exception()]})

    assert len(event.data["exception"]["values"]) == 1
    assert event.notes == ["exception.values: dropped 2 empty or malformed exceptions"]


def test_it_checks_frame_field_types():
    frame = {
        "function": "f",
        "lineno": "12",
        "colno": "x",
        "in_app": "true",
        "module": 7,
        "vars": ["not", "an", "object"],
        "unknown": 1,
        "pre_context": ["a", None, 3],
    }
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    assert event.data["exception"]["values"][0]["stacktrace"]["frames"] == [
        {
            "function": "f",
            "lineno": 12,
            "in_app": True,
            "module": "7",
            "pre_context": ["a", "", "3"],
        }
    ]


def test_it_keeps_the_first_and_last_frames_of_an_overlong_stack_trace():
    frames = [
        make_frame(function=f"f{i}") for i in range(MAX_FRAMES_PER_STACKTRACE + 50)
    ]
    event = normalize({"exception": [make_exception(stacktrace={"frames": frames})]})

    stacktrace = event.data["exception"]["values"][0]["stacktrace"]
    half = MAX_FRAMES_PER_STACKTRACE // 2
    assert len(stacktrace["frames"]) == MAX_FRAMES_PER_STACKTRACE
    assert stacktrace["frames"][half - 1]["function"] == f"f{half - 1}"
    assert stacktrace["frames"][half]["function"] == f"f{half + 50}"
    assert stacktrace["frames_omitted"] == [half, half + 50]
    assert event.notes == [
        f"exception.values.0.stacktrace.frames: kept the first and last {half} of "
        f"{MAX_FRAMES_PER_STACKTRACE + 50} frames"
    ]


def test_it_keeps_the_newest_exceptions_of_an_overlong_chain():
    chain = [make_exception(type=f"E{i}") for i in range(MAX_EXCEPTIONS + 5)]
    event = normalize({"exception": chain})

    values = event.data["exception"]["values"]
    assert len(values) == MAX_EXCEPTIONS
    assert values[0]["type"] == "E5"
    assert event.type == f"E{MAX_EXCEPTIONS + 4}"
    assert event.notes == [
        f"exception.values: kept the last {MAX_EXCEPTIONS} of {MAX_EXCEPTIONS + 5}"
    ]


def test_it_bounds_frame_variables():
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    wide = {f"k{i}": i for i in range(FRAME_VARS_MAX_ITEMS + 3)}
    frame = make_frame(vars={"deep": deep, "wide": wide, "long": "y" * 2000})
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    variables = event.data["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]
    # depth 0 is vars itself, so "deep" is cut FRAME_VARS_MAX_DEPTH levels down.
    assert variables["deep"] == {"a": {"b": {"c": {"d": TRIMMED}}}}
    assert FRAME_VARS_MAX_DEPTH == 5
    assert len(variables["wide"]) == FRAME_VARS_MAX_ITEMS
    assert len(variables["long"]) == 1024
    assert event.notes == [
        "exception.values.0.stacktrace.frames: trimmed (1 long strings shortened, "
        "3 items over 50 dropped, 1 values nested deeper than 5 cut)"
    ]


def test_it_turns_huge_integers_into_text():
    event = normalize({"extra": {"big": 2**70, "nan": float("nan")}})

    assert event.data["extra"] == {"big": str(2**70), "nan": None}
    assert orjson.loads(orjson.dumps(event.data))["extra"]["big"] == str(2**70)


def test_it_accepts_top_level_stacktrace_and_threads():
    event = normalize(
        {
            "message": "hi",
            "stacktrace": {"frames": [make_frame()]},
            "threads": {
                "values": [
                    {
                        "id": 1,
                        "crashed": True,
                        "stacktrace": {"frames": [make_frame()]},
                    },
                    "junk",
                ]
            },
        }
    )

    assert event.data["stacktrace"]["frames"][0]["function"] == "price"
    assert event.data["threads"]["values"][0]["id"] == "1"
    assert event.data["threads"]["values"][0]["crashed"] is True


# -- derived fields -----------------------------------------------------------


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


# -- tags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        {"a": "1", "b": 2, "c": True},
        [["a", "1"], ["b", 2], ["c", True]],
        [{"key": "a", "value": "1"}, ["b", 2.0], ("c", True)],
    ],
)
def test_it_accepts_tags_as_object_or_pairs(tags):
    event = normalize({"tags": tags})

    assert event.data["tags"] == [["a", "1"], ["b", "2"], ["c", "true"]]


def test_it_drops_tags_with_overlong_keys_and_shortens_long_values():
    event = normalize(
        {"tags": {"k" * 33: "v", "ok": "v" * 300, "none": None, "obj": {}}}
    )

    assert event.data["tags"] == [["ok", "v" * (MAX_TAG_VALUE_CHARS - 1) + "…"]]
    assert event.notes == [
        "tags: dropped 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': key over 32 characters",
        "tags.ok: shortened to 200 characters",
        "tags.obj: value is not text; dropped",
    ]


def test_it_keeps_the_last_value_of_a_repeated_tag():
    assert normalize({"tags": [["a", "1"], ["a", "2"]]}).data["tags"] == [["a", "2"]]


def test_it_puts_newlines_in_tag_values_on_one_line():
    assert normalize({"tags": {"a": "x\ny"}}).data["tags"] == [["a", "x y"]]


# -- requests and breadcrumbs -------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "text/html", "X-Multi": ["a", "b"]},
        [["Accept", "text/html"], ["X-Multi", "a"], ["X-Multi", "b"]],
    ],
)
def test_it_accepts_headers_as_object_or_pairs(headers):
    event = normalize({"request": {"headers": headers}})

    assert event.data["request"]["headers"] == [
        ["Accept", "text/html"],
        ["X-Multi", "a"],
        ["X-Multi", "b"],
    ]


def test_it_turns_non_text_header_values_into_text():
    event = normalize({"request": {"headers": {"User-Agent": 5}}})

    assert event.data["request"]["headers"] == [["User-Agent", "5"]]


def test_it_moves_the_query_out_of_the_url():
    event = normalize(
        {"request": {"url": "https://x.example/a?b=1&c=#frag", "method": "get"}}
    )

    assert event.data["request"] == {
        "url": "https://x.example/a",
        "method": "GET",
        "query_string": [["b", "1"], ["c", ""]],
        "fragment": "frag",
    }


@pytest.mark.parametrize(
    "query",
    ["a=1&b=2", "?a=1&b=2", {"a": "1", "b": 2}, [["a", "1"], ["b", "2"]]],
)
def test_it_accepts_the_query_string_in_any_shape(query):
    event = normalize({"request": {"query_string": query}})

    assert event.data["request"]["query_string"] == [["a", "1"], ["b", "2"]]


def test_it_keeps_the_newest_breadcrumbs():
    crumbs = [{"message": f"m{i}", "timestamp": i} for i in range(MAX_BREADCRUMBS + 20)]
    event = normalize({"breadcrumbs": crumbs})

    values = event.data["breadcrumbs"]["values"]
    assert len(values) == MAX_BREADCRUMBS
    assert values[0] == {"message": "m20", "timestamp": 20}
    assert event.notes == [
        f"breadcrumbs.values: kept the last {MAX_BREADCRUMBS} of {MAX_BREADCRUMBS + 20}"
    ]


def test_it_accepts_breadcrumbs_as_values():
    event = normalize(
        {
            "breadcrumbs": {
                "values": [
                    {
                        "timestamp": "2025-01-02T03:03:20Z",
                        "category": "query",
                        "message": "SELECT 1",
                        "data": {"rows": 1},
                        "junk": 1,
                    },
                    "junk",
                ]
            }
        }
    )

    assert event.data["breadcrumbs"]["values"] == [
        {
            "timestamp": "2025-01-02T03:03:20Z",
            "category": "query",
            "message": "SELECT 1",
            "data": {"rows": 1},
        }
    ]


def test_it_drops_contexts_that_are_not_objects():
    event = normalize({"contexts": {"os": {"name": "Linux"}, "none": None, "bad": 3}})

    assert event.data["contexts"] == {"os": {"name": "Linux"}}
    assert event.notes == ["contexts.bad: expected an object, got number; dropped"]


@pytest.mark.parametrize(
    ("fingerprint", "expected"),
    [
        (["a", 1, 2.5, True, None], ["a", "1", "2.5", "true"]),
        ("solo", ["solo"]),
        ([], None),
    ],
)
def test_it_cleans_the_fingerprint(fingerprint, expected):
    assert normalize({"fingerprint": fingerprint}).data.get("fingerprint") == expected


def test_it_records_notes_in_the_data():
    event = normalize({"platform": "crystal"})

    assert event.data["_notes"] == event.notes


# -- the corpus and arbitrary input -------------------------------------------


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
@pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_it_normalizes_every_corpus_event(path):
    event = normalize(orjson.loads(path.read_bytes()))

    # The result must be storable as it is.
    assert orjson.loads(orjson.dumps(event.data)) == event.data
    assert event.title != ""
    assert event.platform in {
        "python",
        "javascript",
        "node",
        "java",
        "csharp",
        "go",
        "php",
        "cocoa",
        "native",
        "other",
    }


def test_it_normalizes_the_already_normalized_form_to_itself():
    if not CORPUS_FILES:
        pytest.skip("../shared/corpus/sdk-events is not present")
    for path in CORPUS_FILES:
        first = normalize(orjson.loads(path.read_bytes()))
        data = dict(first.data)
        data.pop("_notes", None)
        data.pop("received")
        second = normalize(data)
        second.data.pop("_notes", None)
        assert second.data == {**data, "received": RECEIVED_AT}, path.name
        assert (second.title, second.culprit) == (first.title, first.culprit), path.name


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)
EVENT_KEYS = st.sampled_from(
    [
        "event_id",
        "timestamp",
        "platform",
        "level",
        "logger",
        "transaction",
        "server_name",
        "release",
        "dist",
        "environment",
        "message",
        "logentry",
        "exception",
        "stacktrace",
        "threads",
        "breadcrumbs",
        "tags",
        "user",
        "request",
        "contexts",
        "extra",
        "modules",
        "sdk",
        "fingerprint",
        "debug_meta",
        "culprit",
    ]
)
# Values that look a little like real fields, so the fuzzing reaches deeper code.
SHAPED = st.recursive(
    JSON,
    lambda children: st.fixed_dictionaries(
        {},
        optional={
            "values": st.lists(children, max_size=3),
            "frames": st.lists(children, max_size=3),
            "stacktrace": children,
            "type": children,
            "value": children,
            "mechanism": children,
            "headers": children,
            "vars": children,
            "params": children,
            "message": children,
            "in_app": children,
            "url": children,
            "id": children,
        },
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(EVENT_KEYS, SHAPED, max_size=6))
def test_it_never_raises_on_event_shaped_json(data):
    event = normalize(data, options=NormalizeOptions(scrub_ip_addresses=True))

    orjson.dumps(event.data)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_it_raises_only_invalid_event_on_any_json_value(value):
    if isinstance(value, dict):
        orjson.dumps(normalize(value).data)
    else:
        with pytest.raises(InvalidEvent):
            normalize(value)


def _mutate(value, choices, path=()):
    """Yield copies of ``value`` with one nested value replaced by each choice."""
    if isinstance(value, dict):
        for key in list(value)[:12]:
            for choice in choices:
                yield {**value, key: choice}
            for changed in _mutate(value[key], choices[:2], (*path, key)):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for index in range(min(len(value), 3)):
            for changed in _mutate(value[index], choices[:2], (*path, index)):
                yield [*value[:index], changed, *value[index + 1 :]]


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(CORPUS_FILES or [Path("none")]),
    st.data(),
)
def test_it_never_raises_on_mutated_corpus_events(path, data):
    event = orjson.loads(path.read_bytes())
    choices = [None, "x", 7, [], {}, [None], {"values": None}, 2**70, -1.5]
    mutants = list(_mutate(event, choices))
    mutant = data.draw(st.sampled_from(mutants)) if mutants else event

    orjson.dumps(normalize(mutant).data)


@pytest.mark.parametrize(
    ("lineno", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("-3", -3),
        ("0\x1f", 0),
        ("²", None),
        ("1e3", None),
        (1e30, None),
    ],
)
def test_it_reads_line_numbers_leniently(lineno, expected):
    frame = make_frame(lineno=lineno)
    event = normalize({"exception": [make_exception(stacktrace={"frames": [frame]})]})

    assert (
        event.data["exception"]["values"][0]["stacktrace"]["frames"][0].get("lineno")
        == expected
    )
