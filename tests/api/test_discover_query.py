"""Discover's query, split between event rows and their issues
(fixtrail.api.sentry.discover_query)."""

from __future__ import annotations

import pytest
from django.db.models import Q

from fixtrail.api.sentry.discover_query import QueryError, translate
from fixtrail.issues.search import parse_query


def _or(*conditions: Q) -> Q:
    out = conditions[0]
    for condition in conditions[1:]:
        out |= condition
    return out


@pytest.mark.parametrize(
    ("query", "event_filter"),
    [
        ("release:1.0", Q() & Q(release__in=("1.0",))),
        (
            "environment:[staging, production]",
            Q() & Q(environment__in=("staging", "production")),
        ),
        ("level:ERROR", Q() & Q(level__in=["error"])),
        ("!level:info", Q() & ~Q(level__in=["info"])),
        ("user:id:42", Q() & Q(user_identity__in=("id:42",))),
        ('title:"not found"', Q() & Q(title__icontains="not found")),
        ("message:timeout", Q() & Q(title__icontains="timeout")),
        (
            "id:9BCD5E1C-ED34-41E5-90CB-67794E056B71",
            Q() & Q(event_id__in=["9bcd5e1ced3441e590cb67794e056b71"]),
        ),
        (
            "checkout",
            Q()
            & _or(
                Q(title__icontains="checkout")
                | Q(event_id__startswith="checkout")
                | Q(user_identity__icontains="checkout")
            ),
        ),
        (
            "release:1.0 level:error",
            Q() & Q(release__in=("1.0",)) & Q(level__in=["error"]),
        ),
    ],
)
def test_it_puts_event_terms_on_the_event_rows(query, event_filter):
    translated = translate(parse_query(query))
    assert translated.event_filter == event_filter
    assert translated.on_events is True
    assert translated.on_issues is False


@pytest.mark.parametrize(
    ("query", "issue_filter"),
    [
        ("issue:BACKEND-1A", Q() & Q(project__slug__iexact="BACKEND", short_id=46)),
        (
            "issue:[BACKEND-1, web-app-2]",
            Q()
            & (
                Q(project__slug__iexact="BACKEND", short_id=1)
                | Q(project__slug__iexact="web-app", short_id=2)
            ),
        ),
        ("issue.id:12", Q() & Q(pk__in=[12])),
        ("project:backend", Q() & Q(project__slug__in=("backend",))),
        ("!project:backend", Q() & ~Q(project__slug__in=("backend",))),
        ("event.type:error", Q() & ~Q(type="")),
        ("event.type:default", Q() & Q(type="")),
        ("event.type:transaction", Q() & Q(pk__in=[])),
    ],
)
def test_it_puts_issue_columns_on_the_issue(query, issue_filter):
    translated = translate(parse_query(query))
    assert translated.issue_filter == issue_filter
    assert translated.on_events is False
    assert translated.on_issues is True


@pytest.mark.parametrize(
    "query",
    ["is:unresolved", "assigned:me", "firstRelease:1.0", "age:-24h", "timesSeen:>10"],
)
def test_it_leaves_issue_terms_to_the_issue_search(query):
    translated = translate(parse_query(query))
    assert translated.issue_terms == parse_query(query)
    assert translated.on_events is False
    assert translated.on_issues is True


def test_it_answers_an_empty_query_from_anything():
    translated = translate(parse_query(""))
    assert (translated.on_events, translated.on_issues) == (False, False)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("browser:Chrome", 'Events cannot be searched by the tag "browser"'),
        ("user.email:dana@example.org", 'Events cannot be searched by "user.email:"'),
        ("issue:oops", '"issue:oops" is not a short id like BACKEND-1A.'),
        ("issue.id:twelve", '"issue.id:" takes issue ids (numbers).'),
        ("id:123", '"id:123" is not an event id (32 hex digits).'),
        ("event.type:span", '"event.type:" takes error, default or transaction.'),
    ],
)
def test_it_names_terms_it_cannot_apply_to_events(query, message):
    with pytest.raises(QueryError) as raised:
        translate(parse_query(query))
    assert str(raised.value).startswith(message)
