"""Discover's field and sort parameters (fixtrail.api.sentry.fields)."""

from __future__ import annotations

import pytest

from fixtrail.api.sentry.fields import (
    Column,
    FieldError,
    Function,
    parse_field,
    parse_fields,
    parse_sort,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title", Column("title", "title", "string")),
        ("issue", Column("issue", "issue", "string")),
        ("issue.id", Column("issue.id", "issue", "integer")),
        ("project", Column("project", "project", "string")),
        ("project.id", Column("project.id", "project_id", "integer")),
        ("release", Column("release", "release", "string")),
        ("environment", Column("environment", "environment", "string")),
        ("level", Column("level", "level", "string")),
        ("user.display", Column("user.display", "user_display", "string")),
        ("timestamp", Column("timestamp", "timestamp", "date")),
        ("event.type", Column("event.type", "event_type", "string")),
        (" id ", Column("id", "event_id", "string")),
        ("count()", Function("count()", "count", None, "integer")),
        ("count(id)", Function("count(id)", "count", None, "integer")),
        (
            "count_unique(user)",
            Function("count_unique(user)", "count_unique", "user", "integer"),
        ),
        (
            "count_unique(user.display)",
            Function("count_unique(user.display)", "count_unique", "user", "integer"),
        ),
        (
            "count_unique(release)",
            Function("count_unique(release)", "count_unique", "release", "integer"),
        ),
        ("last_seen()", Function("last_seen()", "last_seen", None, "date")),
        ("first_seen()", Function("first_seen()", "first_seen", None, "date")),
        ("max(timestamp)", Function("max(timestamp)", "last_seen", None, "date")),
        ("min(timestamp)", Function("min(timestamp)", "first_seen", None, "date")),
        ("epm()", Function("epm()", "epm", None, "rate")),
    ],
)
def test_it_parses_a_field(text, expected):
    assert parse_field(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("browser.name", 'Unknown field "browser.name". Columns are: id, title'),
        ("failure_rate()", '"failure_rate()" is not supported: Fixtrail stores'),
        ("p95(transaction.duration)", '"p95(transaction.duration)" is not supported'),
        ("max(release)", '"max(release)" is not supported'),
        ("count_unique(browser)", 'count_unique() cannot count "browser"'),
        ("last_seen(user)", '"last_seen()" takes no argument, in "last_seen(user)".'),
        ("epm(1)", '"epm()" takes no argument, in "epm(1)".'),
        ("explode()", 'Unknown function "explode()". Use one of: count()'),
    ],
)
def test_it_names_what_it_cannot_serve(text, message):
    with pytest.raises(FieldError) as raised:
        parse_field(text)
    assert str(raised.value).startswith(message)


def test_it_keeps_fields_in_order_without_repeats():
    fields = parse_fields(["title", "count()", "title", "count()"])
    assert [field.name for field in fields] == ["title", "count()"]


def test_it_needs_at_least_one_field():
    with pytest.raises(FieldError, match="No columns selected"):
        parse_fields([])


def test_it_refuses_more_than_twenty_fields():
    with pytest.raises(FieldError, match="Too many fields: at most 20."):
        parse_fields(["title"] * 21)


@pytest.mark.parametrize(
    ("text", "name", "descending"),
    [
        ("-count()", "count()", True),
        ("count()", "count()", False),
        ("-last_seen()", "last_seen()", True),
        ("title", "title", False),
    ],
)
def test_it_parses_a_sort_among_the_fields(text, name, descending):
    fields = parse_fields(["title", "count()", "last_seen()"])
    field, desc = parse_sort(text, fields)
    assert (field.name, desc) == (name, descending)


def test_it_has_no_sort_when_none_is_given():
    assert parse_sort("", parse_fields(["title"])) is None


def test_it_refuses_to_sort_by_a_field_not_shown():
    with pytest.raises(
        FieldError, match=r'Cannot sort by "count\(\)": it is not one of the fields.'
    ):
        parse_sort("-count()", parse_fields(["title"]))
