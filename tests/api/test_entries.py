"""Shaping stored events as Sentry's event API shows them (pure)."""

from __future__ import annotations

from fixtrail.api import entries

FRAME = {
    "filename": "app/views.py",
    "abs_path": "/srv/app/views.py",
    "module": "app.views",
    "function": "index",
    "lineno": 12,
    "colno": 5,
    "pre_context": ["def index(request):", "    x = 1"],
    "context_line": "    raise ValueError('bad')",
    "post_context": [""],
    "in_app": True,
    "vars": {"x": "1"},
}
LIBRARY_FRAME = {
    "filename": "django/base.py",
    "function": "get",
    "lineno": 3,
    "in_app": False,
}


def test_it_renames_frame_fields_and_numbers_the_source_lines():
    assert entries.api_frame(FRAME) == {
        "filename": "app/views.py",
        "absPath": "/srv/app/views.py",
        "module": "app.views",
        "package": None,
        "platform": None,
        "instructionAddr": None,
        "symbolAddr": None,
        "function": "index",
        "rawFunction": None,
        "symbol": None,
        "context": [
            [10, "def index(request):"],
            [11, "    x = 1"],
            [12, "    raise ValueError('bad')"],
            [13, ""],
        ],
        "lineNo": 12,
        "colNo": 5,
        "inApp": True,
        "trust": None,
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": {"x": "1"},
    }


def test_it_survives_frames_of_the_wrong_types():
    frame = entries.api_frame(
        {"lineno": "12", "in_app": "yes", "vars": [1], "pre_context": 3}
    )
    assert (frame["lineNo"], frame["inApp"], frame["vars"], frame["context"]) == (
        None,
        False,
        None,
        [],
    )
    assert entries.api_frame("not a frame")["filename"] is None


def test_it_builds_the_exception_entry():
    data = {
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "bad",
                    "mechanism": {"type": "generic", "handled": True},
                    "stacktrace": {"frames": [LIBRARY_FRAME, FRAME]},
                }
            ]
        }
    }
    entry = entries.exception_entry(data)
    value = entry["data"]["values"][0]
    assert entry["type"] == "exception"
    assert entry["data"]["hasSystemFrames"] is True
    assert entry["data"]["excOmitted"] is None
    assert (value["type"], value["value"], value["mechanism"]) == (
        "ValueError",
        "bad",
        {"type": "generic", "handled": True},
    )
    assert [f["function"] for f in value["stacktrace"]["frames"]] == ["get", "index"]
    assert value["rawStacktrace"] is None


def test_it_has_no_system_frames_when_every_frame_is_app_code():
    data = {"exception": {"values": [{"type": "E", "stacktrace": {"frames": [FRAME]}}]}}
    assert entries.exception_entry(data)["data"]["hasSystemFrames"] is False


def test_it_keeps_an_exception_without_stack_trace():
    data = {"exception": {"values": [{"type": "E", "value": "v"}]}}
    assert entries.exception_entry(data)["data"]["values"][0]["stacktrace"] is None


def test_it_builds_the_message_entry_from_a_log_entry():
    data = {
        "logentry": {"message": "Hello %s", "params": ["bob"], "formatted": "Hello bob"}
    }
    assert entries.message_entry(data) == {
        "type": "message",
        "data": {"formatted": "Hello bob", "message": "Hello %s", "params": ["bob"]},
    }


def test_it_builds_the_message_entry_from_a_plain_message():
    assert entries.message_entry({"message": "boom"}) == {
        "type": "message",
        "data": {"formatted": "boom", "message": None, "params": None},
    }


def test_it_builds_the_breadcrumbs_entry_with_iso_times():
    data = {
        "breadcrumbs": {"values": [{"timestamp": 1714550400.5, "message": "GET /"}]}
    }
    assert entries.breadcrumbs_entry(data) == {
        "type": "breadcrumbs",
        "data": {
            "values": [
                {
                    "type": "default",
                    "timestamp": "2024-05-01T08:00:00.500000Z",
                    "level": "info",
                    "message": "GET /",
                    "category": None,
                    "data": None,
                    "event_id": None,
                }
            ]
        },
    }


def test_it_builds_the_request_entry_with_pairs():
    data = {
        "request": {
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "query_string": [["step", "2"]],
            "headers": [["Content-Type", "application/json"]],
            "cookies": "session=abc; theme=dark",
            "data": {"qty": 2},
        }
    }
    assert entries.request_entry(data) == {
        "type": "request",
        "data": {
            "apiTarget": None,
            "method": "POST",
            "url": "https://shop.example.com/cart",
            "query": [["step", "2"]],
            "fragment": None,
            "data": {"qty": 2},
            "headers": [["Content-Type", "application/json"]],
            "cookies": [["session", "abc"], ["theme", "dark"]],
            "env": None,
            "inferredContentType": "application/json",
        },
    }


def test_it_orders_entries_as_sentry_does():
    data = {
        "request": {"url": "https://x.example"},
        "breadcrumbs": {"values": [{"message": "m"}]},
        "logentry": {"formatted": "hi"},
        "exception": {"values": [{"type": "E"}]},
        "threads": {"values": [{"id": 1, "crashed": True}]},
    }
    assert [e["type"] for e in entries.event_entries(data)] == [
        "exception",
        "threads",
        "message",
        "breadcrumbs",
        "request",
    ]


def test_it_builds_a_stacktrace_entry_for_events_without_exception():
    data = {"stacktrace": {"frames": [FRAME]}}
    entry = entries.stacktrace_entry(data)
    assert entry["type"] == "stacktrace"
    assert [f["lineNo"] for f in entry["data"]["frames"]] == [12]


def test_it_lists_tags_with_level_environment_and_release():
    data = {
        "tags": [["server_name", "web-1"], ["browser", "Firefox"]],
        "level": "error",
        "environment": "production",
        "release": "shop@1.2.0",
    }
    assert entries.event_tags(data) == [
        {"key": "browser", "value": "Firefox"},
        {"key": "environment", "value": "production"},
        {"key": "level", "value": "error"},
        {"key": "release", "value": "shop@1.2.0"},
        {"key": "server_name", "value": "web-1"},
    ]


def test_it_finds_the_innermost_app_frame_as_location_and_metadata():
    data = {
        "exception": {
            "values": [
                {
                    "type": "E",
                    "value": "v",
                    "stacktrace": {"frames": [FRAME, LIBRARY_FRAME]},
                }
            ]
        }
    }
    assert entries.event_location(data) == "app/views.py"
    assert entries.event_metadata(data) == {
        "type": "E",
        "value": "v",
        "filename": "app/views.py",
        "function": "index",
    }


def test_it_gives_messages_a_title_as_metadata():
    assert entries.event_metadata(
        {"logentry": {"formatted": "Disk full\non /var"}}
    ) == {"title": "Disk full"}


def test_it_tells_errors_from_default_events():
    assert entries.event_type({"exception": {"values": [{"type": "E"}]}}) == "error"
    assert entries.event_type({"logentry": {"formatted": "hi"}}) == "default"


def test_it_shapes_the_user_and_sdk():
    data = {
        "user": {"id": "42", "email": "a@example.com", "geo": {"city": "Oslo"}},
        "sdk": {"name": "sentry.python", "version": "2.75.0", "packages": []},
    }
    assert entries.event_user(data) == {
        "id": "42",
        "email": "a@example.com",
        "username": None,
        "ip_address": None,
        "name": None,
        "data": {"geo": {"city": "Oslo"}},
    }
    assert entries.event_sdk(data) == {"name": "sentry.python", "version": "2.75.0"}
    assert entries.event_user({}) is None
