from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues.search import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    SearchError,
    Term,
    decode_cursor,
    filter_issues,
    page_issues,
    parse_query,
    quote_term,
    sort_issues,
)

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


# -- parse_query: every element of the syntax ------------------------------


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("", []),
        ("   ", []),
        ("is:unresolved", [Term("is", ("unresolved",))]),
        ("is:Resolved", [Term("is", ("Resolved",))]),
        ("is:ignored", [Term("is", ("ignored",))]),
        ("is:assigned", [Term("is", ("assigned",))]),
        ("is:unassigned", [Term("is", ("unassigned",))]),
        ("is:linked", [Term("is", ("linked",))]),
        ("is:unlinked", [Term("is", ("unlinked",))]),
        ("is:regressed", [Term("is", ("regressed",))]),
        ("assigned:me", [Term("assigned", ("me",))]),
        ("assigned:none", [Term("assigned", ("none",))]),
        ("assigned:#backend", [Term("assigned", ("#backend",))]),
        ("assigned:bob@example.org", [Term("assigned", ("bob@example.org",))]),
        ("release:1.2.0", [Term("release", ("1.2.0",))]),
        ("release:backend@1.2", [Term("release", ("backend@1.2",))]),
        ("firstRelease:1.2.0", [Term("first_release", ("1.2.0",))]),
        ("environment:production", [Term("environment", ("production",))]),
        ("level:error", [Term("level", ("error",))]),
        ("age:-24h", [Term("age", dt.timedelta(hours=24), op="-")]),
        ("age:+7d", [Term("age", dt.timedelta(days=7), op="+")]),
        ("age:-30m", [Term("age", dt.timedelta(minutes=30), op="-")]),
        ("age:-2w", [Term("age", dt.timedelta(weeks=2), op="-")]),
        ("lastSeen:-1h", [Term("last_seen", dt.timedelta(hours=1), op="-")]),
        (
            "lastSeen:>2026-04-01",
            [Term("last_seen", dt.datetime(2026, 4, 1, tzinfo=dt.UTC), op=">")],
        ),
        (
            "lastSeen:<=2026-04-01T10:30:00+02:00",
            [
                Term(
                    "last_seen",
                    dt.datetime(2026, 4, 1, 8, 30, tzinfo=dt.UTC),
                    op="<=",
                )
            ],
        ),
        ("timesSeen:>10", [Term("times_seen", 10, op=">")]),
        ("timesSeen:>=10", [Term("times_seen", 10, op=">=")]),
        ("timesSeen:<5", [Term("times_seen", 5, op="<")]),
        ("timesSeen:<=5", [Term("times_seen", 5, op="<=")]),
        ("timesSeen:3", [Term("times_seen", 3, op="=")]),
        ("timesseen:3", [Term("times_seen", 3, op="=")]),
        ("user.email:dana@example.org", [Term("user_email", ("dana@example.org",))]),
        ("browser:Firefox", [Term("tag", ("Firefox",), name="browser")]),
        ("os.name:Linux", [Term("tag", ("Linux",), name="os.name")]),
        ("tags[is]:x", [Term("tag", ("x",), name="is")]),
        ('browser:"Firefox 128"', [Term("tag", ("Firefox 128",), name="browser")]),
        ('release:"a b:c"', [Term("release", ("a b:c",))]),
        (r'url:"say \"hi\""', [Term("tag", ('say "hi"',), name="url")]),
        ("level:[error, fatal]", [Term("level", ("error", "fatal"))]),
        (
            "browser:[Firefox,Chrome]",
            [Term("tag", ("Firefox", "Chrome"), name="browser")],
        ),
        ("!level:info", [Term("level", ("info",), negated=True)]),
        ("!is:resolved", [Term("is", ("resolved",), negated=True)]),
        ("!browser:Firefox", [Term("tag", ("Firefox",), name="browser", negated=True)]),
        ("!timesSeen:>3", [Term("times_seen", 3, op=">", negated=True)]),
        ("timeout", [Term("text", ("timeout",))]),
        ("!timeout", [Term("text", ("timeout",), negated=True)]),
        ('"connection refused"', [Term("text", ("connection refused",))]),
        (
            '!"connection refused"',
            [Term("text", ("connection refused",), negated=True)],
        ),
        (
            "TypeError: x is undefined",
            [
                Term("text", ("TypeError:",)),
                Term("text", ("x",)),
                Term("text", ("is",)),
                Term("text", ("undefined",)),
            ],
        ),
        ("'a:b'", [Term("text", ("'a:b'",))]),
        ("https://example.org/x", [Term("text", ("https://example.org/x",))]),
        (
            'is:unresolved !level:info release:"2.0 beta" browser:Chrome timeout',
            [
                Term("is", ("unresolved",)),
                Term("level", ("info",), negated=True),
                Term("release", ("2.0 beta",)),
                Term("tag", ("Chrome",), name="browser"),
                Term("text", ("timeout",)),
            ],
        ),
    ],
)
def test_it_parses(query, terms):
    assert parse_query(query) == terms


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("release:", 'Missing value after "release:".'),
        ('release:""', 'Missing value after "release:".'),
        ("is:", 'Missing value after "is:".'),
        (
            "is:open",
            'Unknown value "open" for is:. Use one of: unresolved, resolved, '
            "ignored, assigned, unassigned, linked, unlinked, regressed, new, "
            "escalating, bookmarked, for_review, reviewed.",
        ),
        (
            "level:critical",
            'Unknown level "critical". Use one of: debug, info, warning, error, fatal.',
        ),
        (
            "assigned:bob",
            '"assigned:" takes me, none, #team or an e-mail address, not "bob".',
        ),
        (
            "timesSeen:many",
            '"timesSeen:" needs a number, optionally after >, >=, < or <=, '
            "as in timesSeen:>10.",
        ),
        (
            "age:24h",
            '"age:" needs a relative time like -24h or +7d (units m, h, d, w) '
            "or a date after > or <, like >2024-05-01.",
        ),
        (
            "lastSeen:>yesterday",
            '"lastSeen:" needs a relative time like -24h or +7d (units m, h, d, w) '
            "or a date after > or <, like >2024-05-01.",
        ),
        ("age:[-1h, -2h]", '"age:" does not take a list.'),
        ('release:"1.0', 'A quote is not closed in: release:"1.0'),
        ('"connection refused', 'A quote is not closed in: "connection refused'),
        ('release:"1.0"x', 'Put a space after the closing quote in: release:"1.0"x'),
        ("level:[error", "A bracket is not closed in: level:[error"),
        ("level:[error]x", "Put a space after the closing bracket in: level:[error]x"),
        ("level:[ , ]", "The list is empty in: level:[ , ]"),
        (":error", 'Missing key before ":error".'),
        ("! level:error", 'A lone "!" negates nothing.'),
        ("tags[a/b]:x", 'Not a tag name: "a/b".'),
        (
            "a_very_long_tag_name_beyond_the_limit:x",
            "Tag names are at most 32 characters: "
            '"a_very_long_tag_name_beyond_the_limit".',
        ),
        (
            "x" * (MAX_QUERY_CHARS + 1),
            "The query is too long: at most 1000 characters.",
        ),
        ("a " * (MAX_TERMS + 1), "The query has too many terms: at most 30."),
    ],
)
def test_it_rejects_a_bad_query_with_a_message(query, message):
    with pytest.raises(SearchError) as caught:
        parse_query(query)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("key", "value", "term"),
    [
        ("browser", "Firefox", 'browser:"Firefox"'),
        ("browser", 'say "hi"', r'browser:"say \"hi\""'),
        ("release", "1.0", 'release:"1.0"'),
        ("is", "x", 'tags[is]:"x"'),
        ("age", "old", 'tags[age]:"old"'),
    ],
)
def test_it_quotes_a_tag_as_a_term_that_parses_back(key, value, term):
    assert quote_term(key, value) == term
    (parsed,) = parse_query(term)
    assert parsed.value == (value,)


def test_it_ignores_a_cursor_of_another_shape():
    fields = ("last_seen", "id")
    assert decode_cursor("n:1,2", fields) == (
        False,
        [dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC), 2],
    )
    assert decode_cursor("n:1", fields) is None
    assert decode_cursor("x:1,2", fields) is None
    assert decode_cursor("n:a,2", fields) is None
    assert decode_cursor("p:99999999999999999999,1", fields) is None


def test_it_rejects_an_unknown_sort():
    with pytest.raises(SearchError, match=r'^Unknown sort "size"\. Use one of: '):
        sort_issues(None, "size")


# -- filter_issues against the database ------------------------------------


@pytest.fixture
def issues(project, alice, bob):
    from fixtrail.accounts.models import Team
    from fixtrail.issues.models import IssueUser, TagValue
    from tests.builders import make_issue

    team = Team.objects.create(
        organization=project.organization, slug="web", name="Web"
    )
    hour = dt.timedelta(hours=1)
    made = {
        "fresh": make_issue(
            project,
            title="ZeroDivisionError: division by zero",
            culprit="shop.cart in average_price",
            first_seen=NOW - hour,
            last_seen=NOW - hour,
            times_seen=3,
            assignee=alice,
            first_release="1.1",
        ),
        "old": make_issue(
            project,
            title="KeyError: 'sku'",
            culprit="shop.catalog in lookup",
            value="'sku' not found",
            level="warning",
            first_seen=NOW - 30 * 24 * hour,
            last_seen=NOW - 48 * hour,
            times_seen=50,
            assignee_team=team,
            first_release="1.0",
        ),
        "resolved": make_issue(
            project,
            title="TimeoutError: read timeout",
            culprit="shop.http in fetch",
            level="fatal",
            status="resolved",
            substatus="",
            first_seen=NOW - 5 * 24 * hour,
            last_seen=NOW - 2 * hour,
            times_seen=10,
            assignee=bob,
            is_regressed=True,
        ),
    }
    for name, release, browser in (
        ("fresh", "1.1", "Firefox 128"),
        ("old", "1.0", "Chrome"),
        ("resolved", "1.1", "Chrome"),
    ):
        for key, value in (
            ("release", release),
            ("browser", browser),
            ("environment", "production"),
        ):
            TagValue.objects.create(
                issue=made[name],
                key=key,
                value=value,
                times_seen=1,
                first_seen=NOW,
                last_seen=NOW,
            )
    IssueUser.objects.create(
        issue=made["old"],
        identity="email:dana@example.org",
        email="dana@example.org",
        first_seen=NOW,
        last_seen=NOW,
    )
    made["old"].bookmarked_by.add(alice)
    for iid in ("7", "8"):  # two tickets: the issue must still match once
        ExternalIssueLink.objects.create(
            issue=made["fresh"], provider="gitlab", external_id=iid
        )
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"fresh", "old", "resolved"}),
        ("is:unresolved", {"fresh", "old"}),
        ("is:resolved", {"resolved"}),
        ("is:ignored", set()),
        ("is:assigned", {"fresh", "old", "resolved"}),
        ("is:unassigned", set()),
        ("is:regressed", {"resolved"}),
        ("!is:regressed", {"fresh", "old"}),
        ("is:linked", {"fresh"}),
        ("is:unlinked", {"old", "resolved"}),
        ("is:new", {"fresh", "old"}),
        ("is:bookmarked", {"old"}),
        ("is:[resolved, ignored]", {"resolved"}),
        ("assigned:me", {"fresh"}),
        ("assigned:BOB@example.org", {"resolved"}),
        ("assigned:#web", {"old"}),
        ("assigned:none", set()),
        ("!assigned:me", {"old", "resolved"}),
        ("release:1.1", {"fresh", "resolved"}),
        ("!release:1.1", {"old"}),
        ("release:[1.0, 1.1]", {"fresh", "old", "resolved"}),
        ("firstRelease:1.0", {"old"}),
        ("environment:production", {"fresh", "old", "resolved"}),
        ("environment:staging", set()),
        ("level:warning", {"old"}),
        ("level:[error, fatal]", {"fresh", "resolved"}),
        ("!level:error", {"old", "resolved"}),
        ("age:-24h", {"fresh"}),
        ("age:+24h", {"old", "resolved"}),
        ("lastSeen:-3h", {"fresh", "resolved"}),
        ("lastSeen:+3h", {"old"}),
        ("lastSeen:<2026-04-30", {"old"}),
        ("timesSeen:>10", {"old"}),
        ("timesSeen:>=10", {"old", "resolved"}),
        ("timesSeen:3", {"fresh"}),
        ("!timesSeen:<=3", {"old", "resolved"}),
        ("user.email:DANA@example.org", {"old"}),
        ("browser:Chrome", {"old", "resolved"}),
        ('browser:"Firefox 128"', {"fresh"}),
        ("!browser:Chrome", {"fresh"}),
        ("division", {"fresh"}),
        ("SHOP.CATALOG", {"old"}),
        ("'sku' found", {"old"}),
        ("!timeout", {"fresh", "old"}),
        ('"read timeout"', {"resolved"}),
        ("is:unresolved browser:Chrome timesSeen:>1", {"old"}),
    ],
)
def test_it_filters_issues(issues, alice, query, expected):
    from fixtrail.issues.models import Issue

    found = filter_issues(Issue.objects.all(), parse_query(query), user=alice, now=NOW)
    names = {name for name, issue in issues.items() if issue in set(found)}
    assert names == expected
    # No filter may repeat a row (a join on a to-many relation would).
    assert len(list(found)) == len(expected)


@pytest.mark.parametrize(
    ("sort", "ascending", "order"),
    [
        ("date", False, ["fresh", "resolved", "old"]),
        ("date", True, ["old", "resolved", "fresh"]),
        ("new", False, ["fresh", "resolved", "old"]),
        ("freq", False, ["old", "resolved", "fresh"]),
        ("freq", True, ["fresh", "resolved", "old"]),
        ("user", False, ["old", "resolved", "fresh"]),
        ("priority", False, ["fresh", "resolved", "old"]),
    ],
)
def test_it_sorts_issues(issues, sort, ascending, order):
    from fixtrail.issues.models import Issue

    ids = {issue.pk: name for name, issue in issues.items()}
    issues["old"].user_count = 1
    issues["old"].save(update_fields=["user_count"])
    sorted_qs = sort_issues(Issue.objects.all(), sort, ascending)
    assert [ids[issue.pk] for issue in sorted_qs] == order


def test_it_pages_with_cursors_forward_and_back(project):
    from fixtrail.issues.models import Issue
    from tests.builders import make_issue

    # Five issues seen at the same moment: the id must break the tie.
    made = [make_issue(project, last_seen=NOW, first_seen=NOW) for _ in range(5)]
    newest_first = [issue.pk for issue in reversed(made)]
    first = page_issues(Issue.objects.all(), "date", False, None, 2)
    assert [i.pk for i in first.items] == newest_first[:2]
    assert first.prev_cursor is None
    second = page_issues(Issue.objects.all(), "date", False, first.next_cursor, 2)
    assert [i.pk for i in second.items] == newest_first[2:4]
    third = page_issues(Issue.objects.all(), "date", False, second.next_cursor, 2)
    assert [i.pk for i in third.items] == newest_first[4:]
    assert third.next_cursor is None
    back = page_issues(Issue.objects.all(), "date", False, third.prev_cursor, 2)
    assert [i.pk for i in back.items] == newest_first[2:4]
    assert back.prev_cursor is not None
    start = page_issues(Issue.objects.all(), "date", False, back.prev_cursor, 2)
    assert [i.pk for i in start.items] == newest_first[:2]
    assert start.prev_cursor is None
