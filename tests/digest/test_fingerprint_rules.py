from __future__ import annotations

import pytest

from fixtrail.digest.fingerprint_rules import (
    MAX_RULES,
    FrameVerdict,
    Matcher,
    RuleSyntaxError,
    parse_fingerprint_rules,
    parse_stacktrace_rules,
    platform_family,
)
from fixtrail.digest.normalize import normalize_event


def make_event(**overrides):
    data = {
        "platform": "python",
        "level": "error",
        "logger": "shop.orders",
        "environment": "production",
        "tags": {"region": "eu-west", "shard": "7"},
        "exception": [
            {"type": "KeyError", "value": "'sku'"},
            {
                "type": "ConnectionError",
                "value": "Read timeout after 30s",
                "mechanism": {"type": "django", "handled": False},
                "stacktrace": {
                    "frames": [
                        {
                            "module": "shop.views",
                            "function": "checkout",
                            "abs_path": "/srv/shop/views.py",
                            "in_app": True,
                        },
                        {
                            "module": "requests.adapters",
                            "function": "send",
                            "abs_path": "/venv/lib/requests/adapters.py",
                            "package": "requests",
                            "in_app": False,
                        },
                    ]
                },
            },
        ],
    }
    data.update(overrides)
    return normalize_event(data, received_at=1735787045.0).data


# -- parsing ------------------------------------------------------------------


def test_it_parses_a_fingerprint_rule():
    rules = parse_fingerprint_rules("error.type:ConnectionError -> connection-errors")

    (rule,) = rules.rules
    assert rule.matchers == (Matcher("error.type", "ConnectionError", False),)
    assert rule.fingerprint == ("connection-errors",)
    assert rule.line == 1


def test_it_parses_quotes_negation_aliases_and_variables():
    text = (
        "# comment\n"
        "\n"
        '  !type:"Read Timeout*" tags.region:eu-* '
        '-> timeouts, {{transaction}}, "a, b"\n'
    )
    (rule,) = parse_fingerprint_rules(text).rules

    assert rule.matchers == (
        Matcher("error.type", "Read Timeout*", True),
        Matcher("tags.region", "eu-*", False),
    )
    assert rule.fingerprint == ("timeouts", "{{ transaction }}", "a, b")
    assert rule.line == 3
    assert (
        str(rule) == '!error.type:"Read Timeout*" tags.region:eu-* '
        '-> timeouts, {{ transaction }}, "a, b"'
    )


def test_it_unescapes_quotes_inside_patterns():
    (rule,) = parse_fingerprint_rules(r'message:"say \"hi\"" -> hi').rules

    assert rule.matchers[0].pattern == 'say "hi"'


def test_it_parses_an_empty_text():
    assert parse_fingerprint_rules("").rules == ()
    assert parse_stacktrace_rules("\n# only a comment\n").rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error.type:Foo", "line 1: missing '->' before the fingerprint"),
        ("error.type:Foo ->", "line 1: missing fingerprint after '->'"),
        ("error.type:Foo -> a -> b", "line 1: more than one '->'"),
        ("-> a", "line 1: a rule needs at least one matcher"),
        ("\n\nbogus:Foo -> a", "line 3: unknown matcher 'bogus'"),
        (
            "error.type -> a",
            "line 1: expected a matcher like error.type:Name, found 'error.type'",
        ),
        ('error.type:"Foo -> a', "line 1: unclosed quote"),
        ('error.type:"" -> a', "line 1: empty pattern for error.type"),
        (
            "family:cobol -> a",
            "line 1: unknown family 'cobol' (use native, javascript or other)",
        ),
        ("app:maybe -> a", "line 1: app takes yes or no, not 'maybe'"),
        (
            "tags.a b:c -> a",
            "line 1: expected a matcher like error.type:Name, found 'tags.a'",
        ),
        ("tags.:x -> a", "line 1: invalid tag name in 'tags.'"),
        ("type:A -> a, , b", "line 1: empty fingerprint value"),
        ("type:A -> {{ nope }}", "line 1: unknown variable {{ nope }}"),
        (
            "type:A -> x{{ type }}",
            "line 1: a variable must be a whole value like {{ type }}: 'x{{ type }}'",
        ),
        ('type:A -> a"b"c', "line 1: stray quote in fingerprint value 'a\"b\"c'"),
    ],
)
def test_it_reports_fingerprint_rule_errors_with_the_line(text, message):
    with pytest.raises(RuleSyntaxError) as caught:
        parse_fingerprint_rules(text)

    assert str(caught.value) == message


def test_it_tells_the_line_number_separately():
    with pytest.raises(RuleSyntaxError) as caught:
        parse_fingerprint_rules("type:A -> a\ntype:B -> b\nnope")

    assert caught.value.line == 3
    assert caught.value.reason == "missing '->' before the fingerprint"


def test_it_limits_the_number_of_rules():
    text = "\n".join(f"type:E{i} -> e{i}" for i in range(MAX_RULES + 1))

    with pytest.raises(RuleSyntaxError, match=f"^line {MAX_RULES + 1}: too many rules"):
        parse_fingerprint_rules(text)


def test_it_parses_stack_trace_rules():
    text = (
        "stack.module:vendor.* -app\n"
        "function:_assert* -group\n"
        "path:**/lib/** family:native -app -group\n"
        "module:myapp.* +app +group\n"
    )
    rules = parse_stacktrace_rules(text).rules

    assert [(r.in_app, r.group, r.line) for r in rules] == [
        (False, None, 1),
        (None, False, 2),
        (False, False, 3),
        (True, True, 4),
    ]
    assert str(rules[2]) == "stack.abs_path:**/lib/** family:native -app -group"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stack.module:foo", "line 1: missing action (use +app, -app, +group, -group)"),
        (
            "stack.module:foo +apps",
            "line 1: unknown action '+apps' (use +app, -app, +group, -group)",
        ),
        (
            "stack.module:foo -app bar",
            "line 1: unknown action 'bar' (use +app, -app, +group, -group)",
        ),
        ("-app", "line 1: a rule needs at least one matcher"),
        ("error.type:Foo -app", "line 1: unknown matcher 'error.type'"),
        ("tags.a:b -app", "line 1: unknown matcher 'tags.a'"),
        (
            "\n\nmodule:x -> y",
            "line 3: unknown action '->' (use +app, -app, +group, -group)",
        ),
    ],
)
def test_it_reports_stack_trace_rule_errors_with_the_line(text, message):
    with pytest.raises(RuleSyntaxError) as caught:
        parse_stacktrace_rules(text)

    assert str(caught.value) == message


# -- matching -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        ("error.type:ConnectionError -> x", True),
        ("error.type:connectionerror -> x", True),
        ("error.type:KeyError -> x", True),
        ("error.type:ValueError -> x", False),
        ("!error.type:ValueError -> x", True),
        ("error.value:*timeout* -> x", True),
        ("error.type:KeyError error.value:*timeout* -> x", False),
        ("error.type:ConnectionError error.value:*timeout* -> x", True),
        ("error.mechanism:django -> x", True),
        ("message:*timeout* -> x", True),
        ("logger:shop.* -> x", True),
        ("level:warning -> x", False),
        ("tags.region:eu-* -> x", True),
        ("tags.environment:production -> x", True),
        ("tags.missing:* -> x", False),
        ("!tags.missing:* -> x", True),
        ("stack.module:shop.views -> x", True),
        ("stack.function:send stack.module:requests.* -> x", True),
        ("stack.function:send stack.module:shop.* -> x", False),
        ("stack.abs_path:**/adapters.py -> x", True),
        ("stack.package:requests -> x", True),
        ("app:yes stack.function:checkout -> x", True),
        ("app:yes stack.function:send -> x", False),
        ("family:other -> x", True),
        ("family:native -> x", False),
        ("error.type:ConnectionError logger:other.* -> x", False),
    ],
)
def test_it_matches_fingerprint_rules(rule, matches):
    rules = parse_fingerprint_rules(rule)

    assert (rules.match(make_event()) is not None) is matches


def test_it_picks_the_first_matching_rule():
    rules = parse_fingerprint_rules("type:Nope -> a\ntype:KeyError -> b\ntype:* -> c")

    assert rules.match(make_event()).fingerprint == ("b",)


def test_it_matches_message_against_the_log_message_first():
    event = make_event(exception=None, message="disk quota exceeded")

    assert parse_fingerprint_rules("message:*quota* -> q").match(event) is not None
    assert parse_fingerprint_rules("message:*timeout* -> q").match(event) is None


def test_it_treats_a_missing_exception_as_not_matching():
    event = make_event(exception=None, message="hi")

    assert parse_fingerprint_rules("error.type:* -> x").match(event) is None
    assert parse_fingerprint_rules("!error.type:Foo -> x").match(event) is not None
    assert parse_fingerprint_rules("!stack.module:foo -> x").match(event) is not None


@pytest.mark.parametrize(
    ("platform", "family"),
    [
        ("python", "other"),
        ("javascript", "javascript"),
        ("node", "javascript"),
        ("cocoa", "native"),
        ("native", "native"),
        (None, "other"),
    ],
)
def test_it_maps_platforms_to_families(platform, family):
    assert platform_family(platform) == family


def test_it_evaluates_stack_trace_rules_with_later_rules_winning():
    rules = parse_stacktrace_rules(
        "module:requests.* -app\n"
        "function:send +group\n"
        "module:requests.adapters +app\n"
        "app:yes function:send -group\n"
    )
    frame = {"module": "requests.adapters", "function": "send", "in_app": False}

    assert rules.evaluate(frame, "other") == FrameVerdict(
        in_app=True, group=False, in_app_line=3, group_line=4
    )


def test_it_leaves_unmatched_frames_alone():
    rules = parse_stacktrace_rules("module:vendor.* -app")

    assert rules.evaluate({"module": "shop.views"}, "other") == FrameVerdict()


def test_it_sets_in_app_on_frames():
    rules = parse_stacktrace_rules(
        "family:other module:vendor.* -app\nfamily:native module:* +app"
    )
    frames = [
        {"module": "vendor.x", "in_app": True},
        {"module": "shop.y", "in_app": True},
    ]

    rules.apply_in_app(frames, "other")

    assert frames == [
        {"module": "vendor.x", "in_app": False},
        {"module": "shop.y", "in_app": True},
    ]
