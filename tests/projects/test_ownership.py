"""Ownership rules and CODEOWNERS: parsing and matching (pure functions)."""

from __future__ import annotations

import pytest

from fixtrail.projects.ownership import (
    MAX_RULES,
    Owner,
    OwnershipRule,
    OwnershipSyntaxError,
    codeowners_regex,
    crashing_frame,
    match_owner_rule,
    parse_codeowners,
    parse_ownership_rules,
    path_suffixes,
)


def _event(
    path: str = "/app/src/payments/api.py",
    module: str | None = "shop.payments.api",
    *,
    url: str | None = None,
    tags: list | None = None,
    in_app: bool = True,
) -> dict:
    frame = {"abs_path": path, "filename": path.rsplit("/", 1)[-1], "in_app": in_app}
    if module:
        frame["module"] = module
    event: dict = {
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "stacktrace": {
                        "frames": [
                            {
                                "abs_path": "/usr/lib/python3/site.py",
                                "module": "site",
                                "in_app": False,
                            },
                            frame,
                        ]
                    },
                }
            ]
        },
        "tags": tags or [],
    }
    if url:
        event["request"] = {"url": url}
    return event


# -- parsing the project's rules ---------------------------------------------


def test_it_parses_every_matcher_and_owner_kind():
    rules = parse_ownership_rules(
        """
        # payments
        path:src/payments/* #payments dana@example.org
        module:shop.checkout.* #Checkout
        url:https://shop.example.com/cart* ops@example.org
        tags.sku_class:enterprise #enterprise
        codeowners:/src/auth/ @acme/identity @dana
        """
    )
    assert [(r.matcher, r.pattern, r.line) for r in rules] == [
        ("path", "src/payments/*", 3),
        ("module", "shop.checkout.*", 4),
        ("url", "https://shop.example.com/cart*", 5),
        ("tags.sku_class", "enterprise", 6),
        ("codeowners", "/src/auth/", 7),
    ]
    assert rules[0].owners == (
        Owner("team", "payments"),
        Owner("user", "dana@example.org"),
    )
    # Team slugs compare in lower case, as slugs are stored.
    assert rules[1].owners == (Owner("team", "checkout"),)
    assert rules[4].owners == (Owner("team", "identity"), Owner("handle", "dana"))


def test_it_takes_a_quoted_pattern_with_spaces():
    (rule,) = parse_ownership_rules('path:"src/My Documents/*" #docs')
    assert rule.pattern == "src/My Documents/*"
    assert str(rule) == 'path:"src/My Documents/*" #docs'


@pytest.mark.parametrize(
    "text, message",
    [
        ("src/* #team", "line 1: expected a matcher like path:src/* followed by owners"),  # noqa: E501
        ("file:src/* #team", "line 1: unknown matcher 'file' (use path, module, url, codeowners or tags.NAME)"),  # noqa: E501
        ("path: #team", "line 1: no owners for path:#team"),
        ("path:src/*", "line 1: no owners for path:src/*"),
        ("\n\npath:src/* payments", "line 3: 'payments' is not an owner (use user@example.org, #team)"),  # noqa: E501
        ("path:src/* @dana", "line 1: '@dana' is not an owner (use user@example.org, #team)"),  # noqa: E501
        ('path:"src/* #team', "line 1: unclosed quote"),
        ("tags.a b:c #team", "line 1: expected a matcher like path:src/* followed by owners"),  # noqa: E501
        ("tags.:x #team", "line 1: invalid tag name in 'tags.'"),
    ],
)  # fmt: skip
def test_it_rejects_a_bad_rule_with_its_line_and_reason(text, message):
    with pytest.raises(OwnershipSyntaxError) as caught:
        parse_ownership_rules(text)
    assert str(caught.value) == message


def test_it_bounds_the_number_of_rules():
    text = "\n".join(f"path:src/{n}/* #team" for n in range(MAX_RULES + 1))
    with pytest.raises(OwnershipSyntaxError, match=f"line {MAX_RULES + 1}: too many"):
        parse_ownership_rules(text)


def test_it_ignores_blank_lines_and_comments():
    assert parse_ownership_rules("\n  # nothing here\n\n") == ()


# -- CODEOWNERS --------------------------------------------------------------


def test_it_parses_a_github_codeowners_file():
    rules = parse_codeowners(
        """
        # Order matters: the last match wins.
        *       @acme/everyone
        *.js    @acme/frontend   # inline comment
        /docs/  docs@example.org
        /build/logs/
        """
    )
    assert [(r.pattern, [str(o) for o in r.owners], r.source) for r in rules] == [
        ("*", ["#everyone"], "codeowners"),
        ("*.js", ["#frontend"], "codeowners"),
        ("/docs/", ["docs@example.org"], "codeowners"),
    ]


def test_it_parses_gitlab_sections_with_default_owners():
    rules = parse_codeowners(
        """
        [Payments] @acme/payments
        src/payments/
        src/refunds/ @dana
        ^[Docs][2] @acme/writers
        docs/
        [Empty]
        src/orphan/
        """
    )
    assert [(r.pattern, [str(o) for o in r.owners]) for r in rules] == [
        ("src/payments/", ["#payments"]),
        ("src/refunds/", ["@dana"]),
        ("docs/", ["#writers"]),
    ]


def test_it_keeps_escaped_spaces_and_hashes_in_codeowners_paths():
    (first, second) = parse_codeowners(
        "src/My\\ Documents/ @acme/docs\nsrc/\\#hash.py @acme/core"
    )
    assert first.pattern == "src/My Documents/"
    assert second.pattern == "src/#hash.py"


@pytest.mark.parametrize(
    "text, message",
    [
        ("!src/ @acme/x", "line 1: CODEOWNERS does not support negated patterns (!)"),
        ("src/ acme", "line 1: 'acme' is not an owner (use user@example.org, #team, @org/team or @user)"),  # noqa: E501
        ("[Sec] nobody", "line 1: 'nobody' is not an owner (use user@example.org, #team, @org/team or @user)"),  # noqa: E501
    ],
)  # fmt: skip
def test_it_rejects_bad_codeowners_lines(text, message):
    with pytest.raises(OwnershipSyntaxError) as caught:
        parse_codeowners(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        # No slash: any depth.
        ("*.js", "app.js", True),
        ("*.js", "src/deep/app.js", True),
        ("*.js", "src/app.jsx", False),
        ("apps/", "apps/a.py", True),
        ("apps/", "src/apps/x/a.py", True),
        ("apps/", "apps", False),
        ("foo", "src/foo", True),
        ("foo", "src/foo/bar.py", True),
        ("foo", "src/foobar", False),
        # Leading slash or an inner slash: anchored at the root.
        ("/docs/", "docs/a.md", True),
        ("/docs/", "docs/sub/b.md", True),
        ("/docs/", "src/docs/a.md", False),
        ("src/auth", "src/auth/login.py", True),
        ("src/auth", "lib/src/auth/login.py", False),
        # A wildcard last component matches files in that directory only.
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),
        ("/build/logs/", "build/logs/x/y.log", True),
        # ** crosses directories.
        ("**/logs", "a/b/logs", True),
        ("**/logs", "logs/x.txt", True),
        ("docs/**/*.md", "docs/a/b/c.md", True),
        ("docs/**/*.md", "docs/c.md", True),
        ("src/**", "src/a/b.py", True),
        ("a?c.py", "abc.py", True),
        ("a?c.py", "a/c.py", False),
        # Case matters in repository paths.
        ("/Docs/", "docs/a.md", False),
    ],
)
def test_it_matches_codeowners_patterns_like_github(pattern, path, matches):
    assert (codeowners_regex(pattern).fullmatch(path) is not None) is matches


@pytest.mark.parametrize(
    "path, suffixes",
    [
        ("/app/src/a.py", ["app/src/a.py", "src/a.py", "a.py"]),
        ("webpack://./src/a.js", ["src/a.js", "a.js"]),
        ("app:///static/a.js?v=3", ["static/a.js", "a.js"]),
        ("https://cdn.example.com/js/a.js#x", ["js/a.js", "a.js"]),
        ("C:\\work\\src\\a.cs", ["work/src/a.cs", "src/a.cs", "a.cs"]),
        ("~/src/a.rb", ["src/a.rb", "a.rb"]),
        ("", []),
    ],
)
def test_it_tries_a_frame_path_from_each_directory(path, suffixes):
    assert path_suffixes(path) == suffixes


# -- which frame, which rule ---------------------------------------------------


def test_it_takes_the_innermost_in_app_frame_of_the_raised_exception():
    event = _event()
    event["exception"]["values"][0]["stacktrace"]["frames"].append(
        {"abs_path": "/usr/lib/python3/json.py", "in_app": False}
    )
    assert crashing_frame(event)["abs_path"] == "/app/src/payments/api.py"


def test_it_takes_the_innermost_frame_when_none_is_in_app():
    assert crashing_frame(_event(in_app=False))["abs_path"] == (
        "/app/src/payments/api.py"
    )


def test_it_reads_the_crashed_thread_of_a_native_event():
    event = {
        "threads": {
            "values": [
                {"stacktrace": {"frames": [{"abs_path": "idle.c"}]}},
                {
                    "crashed": True,
                    "stacktrace": {"frames": [{"abs_path": "/src/engine.c"}]},
                },
            ]
        }
    }
    assert crashing_frame(event) == {"abs_path": "/src/engine.c"}


def test_it_has_no_crashing_frame_without_frames():
    assert crashing_frame({"message": "hello"}) is None


@pytest.mark.parametrize(
    "rule, event, matches",
    [
        ("path:src/payments/* #p", _event(), True),
        ("path:/app/src/payments/api.py #p", _event(), True),
        ("path:*.py #p", _event(), True),
        ("path:api.py #p", _event(), True),
        ("path:src/refunds/* #p", _event(), False),
        ("path:SRC/PAYMENTS/* #p", _event(), True),
        # The crashing frame counts, not the library frame below it.
        ("path:*/site.py #p", _event(), False),
        ("module:shop.payments.* #p", _event(), True),
        ("module:shop.checkout.* #p", _event(), False),
        ("module:shop.* #p", _event(module=None), False),
        ("url:https://shop.example.com/cart* #p", _event(url="https://shop.example.com/cart/3"), True),  # noqa: E501
        ("url:*/cart* #p", _event(), False),
        ("tags.sku:enterprise #p", _event(tags=[["sku", "enterprise"]]), True),
        ("tags.sku:ent* #p", _event(tags=[["sku", "free"]]), False),
        ("tags.sku:ent* #p", _event(), False),
        # Anchored patterns match from any directory of the frame's path,
        # since the deployed root (/app) is not the repository's.
        ("codeowners:src/payments/ @acme/p", _event(), True),
        ("codeowners:/payments/api.py/ @acme/p", _event(), False),
        ("codeowners:payments/ @acme/p", _event(), True),
        ("codeowners:/src/payments/ @acme/p", _event(), True),
        ("codeowners:*.py @acme/p", _event(), True),
    ],
)  # fmt: skip
def test_it_matches_each_matcher_against_the_event(rule, event, matches):
    rules = parse_ownership_rules(rule)
    assert (match_owner_rule(rules, event) is not None) is matches


def test_it_lets_the_last_matching_rule_win():
    rules = parse_ownership_rules(
        "path:src/* #everyone\npath:src/payments/* #payments\npath:src/refunds/* #r"
    )
    winner = match_owner_rule(rules, _event())
    assert winner is not None
    assert (winner.line, winner.owners) == (2, (Owner("team", "payments"),))


def test_it_lets_project_rules_override_the_codeowners_file():
    file_rules = parse_codeowners("/src/payments/ @acme/payments")
    own = parse_ownership_rules("module:shop.payments.* #billing")
    winner = match_owner_rule((*file_rules, *own), _event())
    assert winner is not None and winner.source == "rules"
    assert (
        winner.describe() == "ownership rules line 1: module:shop.payments.* #billing"
    )


def test_it_describes_a_codeowners_rule_with_its_line():
    rule = OwnershipRule(
        "codeowners", "/src/", (Owner("team", "core"),), 4, "codeowners"
    )
    assert rule.describe() == "CODEOWNERS line 4: codeowners:/src/ #core"
