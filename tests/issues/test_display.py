from __future__ import annotations

import pytest

from fixtrail.issues.display import (
    MAX_PAIRS,
    MAX_VALUE_CHARS,
    event_message,
    event_view,
    is_http_url,
    pairs,
    render_value,
)


@pytest.mark.parametrize(
    ("value", "rows"),
    [
        ({"a": "1", "items": "x"}, [("a", "1"), ("items", "x")]),
        (
            [["User-Agent", "curl"], ["Accept", "*/*"]],
            [("User-Agent", "curl"), ("Accept", "*/*")],
        ),
        ([{"key": "k", "value": 2}], [("k", "2")]),
        ([["only one"], "junk", None], []),
        (
            {"n": None, "b": True, "l": [1]},
            [("n", "null"), ("b", "true"), ("l", "[\n  1\n]")],
        ),
        ("not a mapping", []),
        (None, []),
    ],
)
def test_it_reads_pairs_in_every_shape(value, rows):
    assert pairs(value) == rows


def test_it_bounds_pairs_and_values():
    many = pairs({str(n): n for n in range(MAX_PAIRS + 10)})
    assert len(many) == MAX_PAIRS + 1
    assert many[-1] == ("…", "more entries omitted")
    long = render_value("x" * (MAX_VALUE_CHARS + 10))
    assert len(long) == MAX_VALUE_CHARS
    assert long.endswith("…")


def test_it_renders_values_json_cannot_hold():
    loop: list = []
    loop.append(loop)
    assert render_value(loop) == "[[...]]"
    assert render_value({"when": object}) == '{\n  "when": "<class \'object\'>"\n}'


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/x", True),
        ("HTTP://example.org", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<b>", False),
        ("//example.org/x", False),
        ("http:///nohost", False),
        ("/relative", False),
        ("http://[::1", False),
    ],
)
def test_it_links_only_absolute_http_urls(url, linked):
    assert is_http_url(url) is linked


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"logentry": {"formatted": "hi 1", "message": "hi %s"}}, "hi 1"),
        ({"logentry": {"message": "hi %s"}}, "hi %s"),
        ({"message": "bare"}, "bare"),
        ({"message": {"formatted": "dict"}}, "dict"),
        ({"message": 42}, ""),
        ({}, ""),
    ],
)
def test_it_finds_the_message(data, message):
    assert event_message(data) == message


def _frame(n: int, in_app: bool, **extra) -> dict:
    return {
        "filename": f"f{n}.py",
        "function": f"fn{n}",
        "lineno": n,
        "in_app": in_app,
        **extra,
    }


def test_it_orders_the_chain_and_frames_most_recent_first():
    view = event_view(
        {
            "exception": {
                "values": [
                    {"type": "Cause", "value": "first"},
                    {
                        "type": "Raised",
                        "value": "last",
                        "mechanism": {"type": "generic", "handled": False},
                        "stacktrace": {
                            "frames": [
                                _frame(1, False, context_line="lib()"),
                                _frame(
                                    2,
                                    True,
                                    context_line="app()",
                                    pre_context=["a", "b"],
                                    post_context=["c"],
                                    vars={"x": 1},
                                ),
                                _frame(3, True),
                            ]
                        },
                    },
                ]
            }
        }
    )
    assert [e.type for e in view.exceptions] == ["Raised", "Cause"]
    raised = view.exceptions[0]
    assert raised.handled is False
    stack = raised.stacktrace
    assert [f.function for f in stack.frames] == ["fn3", "fn2", "fn1"]
    assert stack.app_frame_count == 2
    assert stack.hides_frames is True
    assert view.hides_frames is True
    # fn3 has nothing to expand; fn2 is the first in-app frame with details.
    assert stack.first_open == 1
    assert stack.frames[1].context == [
        (0, "a", False),
        (1, "b", False),
        (2, "app()", True),
        (3, "c", False),
    ]
    assert stack.frames[1].variables == [("x", "1")]
    assert view.exceptions[1].stacktrace is None


def test_it_opens_the_first_library_frame_when_no_frame_is_in_app():
    view = event_view(
        {
            "stacktrace": {
                "frames": [
                    _frame(1, False, context_line="x"),
                    _frame(2, False, context_line="y"),
                ]
            }
        }
    )
    assert view.stacktrace.has_app_frames is False
    # Nothing is in-app, so every frame shows and there is nothing to toggle.
    assert view.hides_frames is False
    assert view.stacktrace.first_open == 0
    assert view.stacktrace.frames[0].function == "fn2"


def test_it_shows_threads_only_without_an_exception_stack():
    data = {
        "threads": {
            "values": [
                {"id": 1, "crashed": True, "stacktrace": {"frames": [_frame(1, True)]}},
                {"id": 2, "name": "worker"},
            ]
        },
    }
    assert [name for name, _ in event_view(data).threads] == ["Thread 1 (crashed)"]
    data["exception"] = {
        "values": [{"type": "E", "stacktrace": {"frames": [_frame(1, True)]}}]
    }
    assert event_view(data).threads == []


def test_it_reads_breadcrumbs_request_user_and_contexts():
    view = event_view(
        {
            "timestamp": 1000.0,
            "breadcrumbs": {
                "values": [
                    {"timestamp": 998.5, "category": "http", "data": {"url": "/x"}},
                    "junk",
                ]
            },
            "request": {
                "url": "javascript:alert(1)",
                "method": "GET",
                "query_string": "a=1",
                "headers": [["Host", "x"]],
                "data": {"k": "v"},
            },
            "user": {"id": "1", "geo": {"city": "Oslo"}, "email": ""},
            "contexts": {
                "zzz": {"type": "zzz", "a": 1},
                "os": {"type": "os", "name": "Linux"},
                "bad": "not a dict",
            },
        }
    )
    (crumb,) = view.breadcrumbs
    assert (crumb.offset, crumb.category, crumb.level, crumb.data) == (
        "−1.5 s",
        "http",
        "info",
        [("url", "/x")],
    )
    request = view.request
    assert (request.method, request.url, request.url_is_http) == (
        "GET",
        "javascript:alert(1)",
        False,
    )
    assert request.query == [("", "a=1")]
    assert request.headers == [("Host", "x")]
    assert request.body == '{\n  "k": "v"\n}'
    assert view.user == [("id", "1"), ("geo.city", "Oslo")]
    assert view.contexts == [("os", [("name", "Linux")]), ("zzz", [("a", "1")])]


@pytest.mark.parametrize(
    "junk",
    [
        {
            "exception": "x",
            "breadcrumbs": 3,
            "request": [],
            "user": "u",
            "contexts": None,
        },
        {
            "exception": {
                "values": [None, 1, {"stacktrace": {"frames": [None, "x", {}]}}]
            }
        },
        {
            "threads": [{"stacktrace": "x"}],
            "sdk": {"integrations": "x", "packages": [1]},
        },
        {"tags": [["a"], ["b", {"nested": True}]], "fingerprint": "x"},
    ],
)
def test_it_survives_malformed_events(junk):
    event_view(junk)
