"""Merge requests and fixed issues named by commit messages."""

from __future__ import annotations

import pytest

from fixtrail.releases.messages import (
    GITHUB,
    GITLAB,
    MergeRequestRef,
    commit_url,
    fixed_short_ids,
    merge_request_of,
    merge_request_url,
    split_short_id,
    web_base,
)

GL = "https://gitlab.example.com"
GITLAB_MERGE = """Merge branch 'cart' into 'main'

Fix the cart total

Closes #4

See merge request shop/web!123"""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (GITLAB_MERGE, MergeRequestRef(GITLAB, 123, "Fix the cart total", "shop/web")),
        ("Merge branch 'a' into 'b'\n\nSee merge request g/sub/p!9",
         MergeRequestRef(GITLAB, 9, "Merge branch 'a' into 'b'", "g/sub/p")),
        # A squashed GitLab MR keeps its own subject as the title.
        ("Fix totals\n\nSee merge request shop/web!5",
         MergeRequestRef(GITLAB, 5, "Fix totals", "shop/web")),
        ("Merge pull request #45 from acme/cart\n\nFix the cart total",
         MergeRequestRef(GITHUB, 45, "Fix the cart total")),
        ("Merge pull request #45 from acme/cart",
         MergeRequestRef(GITHUB, 45, "Merge pull request #45 from acme/cart")),
        ("Fix the cart total (#45)", MergeRequestRef(GITHUB, 45, "Fix the cart total")),
        ("Fix the cart total (#45)\n\n* round\n* sum",
         MergeRequestRef(GITHUB, 45, "Fix the cart total")),
        ("Fix the cart total (#45)  ",
         MergeRequestRef(GITHUB, 45, "Fix the cart total")),
        # GitLab's line wins over a "(#N)" in the subject.
        ("Fix (#3)\n\nSee merge request shop/web!8",
         MergeRequestRef(GITLAB, 8, "Fix (#3)", "shop/web")),
        ("Fix the cart total", None),
        ("Fix #45 in the cart", None),
        ("Mention (#45) mid-subject", None),
        ("See merge request for details", None),
        ("", None),
        ("   \n\n", None),
    ],
)  # fmt: skip
def test_it_finds_the_merge_request_of_a_message(message, expected):
    assert merge_request_of(message) == expected


def test_it_cuts_overlong_titles():
    ref = merge_request_of("x" * 600 + " (#1)")
    assert len(ref.title) == 500


@pytest.mark.parametrize(
    ("url", "ref", "expected"),
    [
        (f"{GL}/shop/web", MergeRequestRef(GITLAB, 7, "", "shop/web"),
         f"{GL}/shop/web/-/merge_requests/7"),
        (f"{GL}/shop/web.git", MergeRequestRef(GITLAB, 7, "", ""),
         f"{GL}/shop/web/-/merge_requests/7"),
        (f"{GL}/shop/web", MergeRequestRef(GITLAB, 7, "", "shop/api"),
         f"{GL}/shop/api/-/merge_requests/7"),
        ("https://github.com/acme/web/", MergeRequestRef(GITHUB, 3, ""),
         "https://github.com/acme/web/pull/3"),
        ("http://127.0.0.1:8080/acme/web.git", MergeRequestRef(GITHUB, 3, ""),
         "http://127.0.0.1:8080/acme/web/pull/3"),
        ("git@github.com:acme/web.git", MergeRequestRef(GITHUB, 3, ""), ""),
        ("", MergeRequestRef(GITHUB, 3, ""), ""),
    ],
)  # fmt: skip
def test_it_builds_merge_request_urls(url, ref, expected):
    assert merge_request_url(url, ref) == expected


def test_it_builds_commit_urls():
    assert commit_url(GITLAB, "https://gl.example.com/a/b", "abc") == (
        "https://gl.example.com/a/b/-/commit/abc"
    )
    assert commit_url(GITHUB, "https://github.com/a/b.git", "abc") == (
        "https://github.com/a/b/commit/abc"
    )
    assert commit_url("git", "https://git.example.com/a/b.git", "abc") == ""
    assert web_base("javascript:alert(1)") == ""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Fixes BACKEND-1A", ["BACKEND-1A"]),
        ("fix backend-1a", ["BACKEND-1A"]),
        ("FIXED: web-2", ["WEB-2"]),
        ("Round prices\n\nResolves SHOP-3, SHOP-4 and closes WEB-7",
         ["SHOP-3", "SHOP-4", "WEB-7"]),
        ("Closes SHOP-3, and SHOP-9", ["SHOP-3", "SHOP-9"]),
        ("resolved my-app-12", ["MY-APP-12"]),
        ("close shop_api-Z", ["SHOP_API-Z"]),
        ("Fixes SHOP-3\nFixes shop-3", ["SHOP-3"]),
        ("Fixes #12", []),
        ("Fixes the cart", []),
        ("Prefix SHOP-3", []),
        ("fixture SHOP-3", []),
        ("Refactor SHOP-3 handling", []),
        ("", []),
    ],
)  # fmt: skip
def test_it_finds_the_issues_a_message_fixes(message, expected):
    assert fixed_short_ids(message) == expected


@pytest.mark.parametrize(
    ("short_id", "expected"),
    [
        ("BACKEND-1A", ("BACKEND", 46)),
        ("MY-APP-Z", ("MY-APP", 35)),
        ("BACKEND-", None),
        ("-12", None),
        ("BACKEND-!", None),
    ],
)
def test_it_splits_short_ids(short_id, expected):
    assert split_short_id(short_id) == expected
