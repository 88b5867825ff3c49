"""The feedback note's text: a pure function of what it reports."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.releases.feedback import (
    MARKER,
    NOTE_ISSUES,
    NOTE_RELEASES,
    NoteIssue,
    NoteRelease,
    NoteReport,
    code_span,
    compose_note,
)

NOW = dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)
DEPLOYED = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
BASE = "https://fixtrail.example.com"


def _issue(n: int, title: str = "ValueError: bad thing", **overrides) -> NoteIssue:
    fields = {
        "short_id": f"BACKEND-{n}",
        "title": title,
        "url": f"{BASE}/issues/{n}/",
        "events": 120,
        "users": 14,
        **overrides,
    }
    return NoteIssue(**fields)


def _release(**overrides) -> NoteRelease:
    fields = {
        "version": "1.4.0",
        "deploys": (("production", DEPLOYED),),
        "new": (_issue(1),),
        "regressed": (),
        "new_total": 1,
        "regressed_total": 0,
        "new_url": f"{BASE}/organizations/acme/issues/?query=firstRelease",
        "regressed_url": f"{BASE}/organizations/acme/issues/?query=regressed",
        **overrides,
    }
    return NoteRelease(**fields)


def _report(*releases: NoteRelease, environment: str = "") -> NoteReport:
    return NoteReport(
        reference="!7",
        releases=releases,
        environment=environment,
        page_url=f"{BASE}/organizations/acme/merge-requests/3/",
    )


def test_it_writes_the_whole_note():
    release = _release(
        new=(_issue(1), _issue(2, events=1, users=1)),
        new_total=2,
        regressed=(_issue(3, title="KeyError: 'sku'", events=5, users=0),),
        regressed_total=1,
    )

    body = compose_note(_report(release), NOW)

    assert body == (
        f"{MARKER}\n"
        "### Fixtrail: errors after !7\n"
        "\n"
        "**2 new issues and 1 regression** since release `1.4.0`.\n"
        "\n"
        "#### Release `1.4.0`\n"
        "Deployed to `production` at 2026-03-02 12:00:00 UTC.\n"
        "\n"
        f"New issues ([all 2]({release.new_url})):\n"
        f"- [BACKEND-1]({BASE}/issues/1/) `ValueError: bad thing`: 120 events, "
        "14 users\n"
        f"- [BACKEND-2]({BASE}/issues/2/) `ValueError: bad thing`: 1 event, 1 user\n"
        "\n"
        f"Regressed issues ([all 1]({release.regressed_url})):\n"
        f"- [BACKEND-3]({BASE}/issues/3/) `KeyError: 'sku'`: 5 events, 0 users\n"
        "\n"
        "---\n"
        "<sub>Updated 2026-03-02 13:00:00 UTC by "
        f"[Fixtrail]({BASE}/organizations/acme/merge-requests/3/). This note is "
        "edited in place as errors come in.</sub>\n"
    )


def test_it_says_when_a_release_brought_no_issues():
    release = _release(new=(), new_total=0, deploys=())

    body = compose_note(_report(release), NOW)

    assert "No new or regressed issues since release `1.4.0`." in body
    assert "Not deployed yet." in body
    assert "New issues" not in body


def test_it_says_when_the_merge_request_is_in_no_release():
    body = compose_note(_report(), NOW)

    assert "This merge request is in no release Fixtrail knows yet." in body


def test_it_names_the_environment_the_issues_were_limited_to():
    body = compose_note(_report(_release(), environment="staging"), NOW)

    assert "**1 new issue and 0 regressions** in `staging` since release" in body


def test_it_counts_the_issues_it_does_not_list():
    body = compose_note(_report(_release(new_total=31)), NOW)

    assert "New issues ([all 31](" in body
    assert "- and 30 more\n" in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ValueError: x", "`ValueError: x`"),
        ("use `repr` here", "``use `repr` here``"),
        ("``double`` ticks", "``` ``double`` ticks ```"),
        ("`edge", "`` `edge ``"),
        ("line one\nline two\r\n\tthree", "`line one line two three`"),
        ("@everyone see #12 and !7", "`@everyone see #12 and !7`"),
        ("<script>alert(1)</script>", "`<script>alert(1)</script>`"),
        ("**bold** [x](javascript:alert(1))", "`**bold** [x](javascript:alert(1))`"),
        ("right\u202eto left\u200bzero", "`right to left zero`"),
        ("", "(empty)"),
        ("\n\n", "(empty)"),
    ],
)
def test_it_puts_event_text_in_a_literal_code_span(text, expected):
    assert code_span(text, 100) == expected


def test_it_cuts_long_text_with_an_ellipsis():
    assert code_span("x" * 200, 10) == "`xxxxxxxxx…`"


def test_it_keeps_hostile_titles_and_versions_inert():
    hostile = "Error @admin </sub>\n\n# Heading <img src=x onerror=alert(1)>"
    release = _release(version="1.0\n## injected", new=(_issue(1, title=hostile),))

    body = compose_note(_report(release, environment="`prod`"), NOW)

    assert "\n## injected" not in body
    assert "\n# Heading" not in body
    assert "`Error @admin </sub> # Heading <img src=x onerror=alert(1)>`" in body
    assert "#### Release `1.0 ## injected`" in body
    assert "in `` `prod` `` since" in body


def test_it_stays_within_githubs_comment_size_at_its_most():
    issues = tuple(_issue(n, title="é" * 1000, events=10**9) for n in range(100))
    releases = [
        _release(
            version="v" * 300,
            deploys=tuple(("e" * 300, DEPLOYED) for _ in range(NOTE_RELEASES)),
            new=issues[:NOTE_ISSUES],
            regressed=issues[:NOTE_ISSUES],
            new_total=10**6,
            regressed_total=10**6,
        )
        for _ in range(NOTE_RELEASES)
    ]

    body = compose_note(_report(*releases), NOW)

    assert len(body) < 65_536
