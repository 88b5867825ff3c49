"""Grouping version 2: built-in stack-trace rules for browsers and native
crashes (pure functions, real normalization)."""

from __future__ import annotations

import copy

import orjson
import pytest

from fixtrail.digest.fingerprint_rules import parse_stacktrace_rules
from fixtrail.digest.grouping import GROUPING_VERSIONS, compute_grouping
from fixtrail.digest.grouping.v2 import BUILTIN_STACKTRACE_RULES, clean_js_function
from fixtrail.digest.normalize import normalize_event
from tests.conftest import CORPUS_DIR, CORPUS_FILES

RECEIVED_AT = 1735787045.0
BROWSERS = ("chrome", "edge", "firefox", "safari")


def group(data, *, version=2, stacktrace_rules=""):
    event = normalize_event(copy.deepcopy(data), received_at=RECEIVED_AT).data
    return compute_grouping(
        event,
        version=version,
        stacktrace_rules=parse_stacktrace_rules(stacktrace_rules),
    )


def js_event(frames, type_="TypeError", value="x is undefined"):
    return {
        "platform": "javascript",
        "exception": {
            "values": [
                {"type": type_, "value": value, "stacktrace": {"frames": frames}}
            ]
        },
    }


def js_frame(function, path="https://shop.example.com/app.js", **extra):
    return {"function": function, "abs_path": path, "lineno": 3, "colno": 9, **extra}


def native_event(frames, type_="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS"):
    return {
        "platform": "native",
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "mechanism": {"type": "mach", "synthetic": True},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
    }


def native_frame(function, package="/Applications/Shop.app/Shop", in_app=True):
    return {
        "function": function,
        "package": package,
        "instruction_addr": "0x100001000",
        "in_app": in_app,
    }


APP_FRAMES = [
    native_frame("main"),
    native_frame("Cart::checkout()"),
    native_frame("Cart::total()"),
]


# -- the version ------------------------------------------------------------------


def test_it_is_a_new_version_next_to_version_1():
    assert GROUPING_VERSIONS[2].config_id == "fixtrail:2026-12-03"
    assert GROUPING_VERSIONS[1].config_id == "fixtrail:2026-11-26"


def test_it_leaves_version_1_as_it_was():
    chrome = js_event([js_frame("Object.callback"), js_frame("aha")])
    firefox = js_event([js_frame("callback"), js_frame("aha")])
    # Version 1 keeps Chrome's receiver prefix, so the two stay apart there.
    assert group(chrome, version=1).hash != group(firefox, version=1).hash
    assert group(chrome).hash == group(firefox).hash


# -- browsers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Object.callback", "callback"),
        ("Foo.prototype.testMethod", "testMethod"),
        ("Foo.testMethod", "testMethod"),
        ("new Basket", "Basket"),
        ("async fetchCart", "fetchCart"),
        ("Object.aha [as handler]", "aha"),
        ("Promise.all (index 0)", "all"),
        ("test/<", ""),
        ("test/</<", ""),
        ("outer/inner", "inner"),
        ("Anonymous function", ""),
        ("<anonymous>", ""),
        ("Object.<anonymous>", ""),
        ("?", ""),
        ("callAnotherThing", "callAnotherThing"),
    ],
)
def test_it_cleans_browser_function_names(name, expected):
    assert clean_js_function(name) == expected


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/sdk-events absent")
@pytest.mark.parametrize("scheme", ["", "http-"])
def test_it_groups_the_corpus_error_of_every_browser_as_one(scheme):
    hashes = {
        browser: group(
            orjson.loads(
                (
                    CORPUS_DIR
                    / "sentry"
                    / f"javascript-xbrowser-{scheme}{browser}.json"
                ).read_bytes()
            )
        ).hash
        for browser in BROWSERS
    }
    assert len(set(hashes.values())) == 1, hashes


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/sdk-events absent")
def test_it_keeps_a_file_page_apart_from_the_same_page_over_http():
    def corpus_hash(name):
        return group(orjson.loads((CORPUS_DIR / "sentry" / name).read_bytes())).hash

    assert corpus_hash("javascript-xbrowser-chrome.json") != corpus_hash(
        "javascript-xbrowser-http-chrome.json"
    )


def test_it_ignores_the_directory_a_file_page_was_opened_from():
    one = js_event([js_frame("checkout", "file:///home/dana/shop/index.html")])
    other = js_event([js_frame("checkout", "file://mac/Users/eve/Desktop/index.html")])
    served = js_event([js_frame("checkout", "https://shop.example.com/index.html")])
    assert group(one).hash == group(other).hash
    assert group(one).hash != group(served).hash


def test_it_does_not_count_browser_runtime_frames():
    app = [js_frame("renderBasket"), js_frame("onCheckoutClick")]
    with_runtime = [
        js_frame("renderBasket"),
        js_frame("Array.map", "<anonymous>"),
        js_frame("map", "[native code]"),
        js_frame("Array.prototype.map", "native code"),
        js_frame("eval", "https://shop.example.com/app.js"),
        js_frame("eval", "eval code"),
        js_frame("sentryWrapped", "https://shop.example.com/vendor.js"),
        js_frame("onCheckoutClick"),
    ]
    assert group(js_event(with_runtime)).hash == group(js_event(app)).hash


def test_it_keeps_different_browser_errors_apart():
    one = js_event([js_frame("renderBasket"), js_frame("onCheckoutClick")])
    other = js_event([js_frame("renderInvoice"), js_frame("onCheckoutClick")])
    assert group(one).hash != group(other).hash


def test_it_counts_an_anonymous_browser_frame_by_its_source_line():
    one = js_event([js_frame("test/<", context_line="total += item.price;")])
    other = js_event([js_frame(None, context_line="total += item.price;")])
    assert group(one).hash == group(other).hash
    changed = js_event([js_frame(None, context_line="total -= item.price;")])
    assert group(one).hash != group(changed).hash


def test_it_explains_which_built_in_rule_excluded_a_frame():
    tree = group(
        js_event([js_frame("map", "[native code]"), js_frame("renderBasket")])
    ).to_dict()
    frame = tree["component"]["values"][0]["values"][1]["values"][0]
    assert frame["contributes"] is False
    assert frame["hint"] == (
        'excluded by built-in rule family:javascript stack.abs_path:"\\[native code\\]"'
        " -app -group"
    )


# -- native crashes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "noise",
    [
        ["abort", "__pthread_kill"],
        ["raise", "__GI_raise", "__GI_abort"],
        ["_sigtramp", "sentrycrashcm_signal_handler"],
        ["KSCrash::handleSignal", "kscrash_reportUserException"],
        ["crashpad::CrashpadClient::DumpWithoutCrash", "__fastfail"],
        ["objc_exception_throw", "__cxa_throw", "std::terminate"],
        ["stripped_application_code", "<redacted>"],
        ["google_breakpad::ExceptionHandler::WriteMinidump"],
    ],
)
def test_it_groups_native_crashes_by_their_crashing_app_frames(noise):
    plain = native_event(APP_FRAMES)
    # The noise frames sit on top of the crashing frame, as a reporter or
    # the abort path puts them, and are marked in-app as some are.
    noisy = native_event(APP_FRAMES + [native_frame(f) for f in noise])
    assert group(noisy).hash == group(plain).hash


def test_it_does_not_merge_native_crashes_through_the_abort_path():
    one = native_event(APP_FRAMES + [native_frame("abort")])
    other = native_event(
        [native_frame("main"), native_frame("Player::load()"), native_frame("abort")]
    )
    assert group(one).hash != group(other).hash


def test_it_does_not_split_on_stripped_code_between_app_frames():
    one = native_event(
        [APP_FRAMES[0], native_frame("stripped_application_code"), *APP_FRAMES[1:]]
    )
    assert group(one).hash == group(native_event(APP_FRAMES)).hash


def test_it_lets_project_rules_override_built_in_rules():
    plain = native_event(APP_FRAMES)
    aborting = native_event(APP_FRAMES + [native_frame("abort")])
    forced = group(aborting, stacktrace_rules="stack.function:abort +app +group")
    assert forced.hash != group(plain).hash


def _frame_for(rule):
    """A frame that the rule's matchers select, built from its patterns."""
    values = {}
    for matcher in rule.matchers:
        if matcher.key == "family":
            continue
        pattern = matcher.pattern.replace("\\", "").replace("*", "Zz")
        field = {
            "stack.function": "function",
            "stack.abs_path": "abs_path",
            "stack.package": "package",
        }[matcher.key]
        values[field] = pattern
    values.setdefault("function", "helper")
    return values


@pytest.mark.parametrize(
    "rule", BUILTIN_STACKTRACE_RULES.rules, ids=lambda rule: str(rule)
)
def test_it_applies_every_built_in_rule(rule):
    family = next(m.pattern for m in rule.matchers if m.key == "family")
    extra = _frame_for(rule)
    if family == "javascript":
        # Browser SDKs mark every frame in-app; a rule's -app or -group must
        # take the frame out either way.
        app = [
            js_frame("renderBasket", in_app=True),
            js_frame("onCheckoutClick", in_app=True),
        ]
        noisy = [app[0], {"lineno": 1, "in_app": True, **extra}, app[1]]
        plain_hash = group(js_event(app)).hash
        noisy_hash = group(js_event(noisy)).hash
    else:
        noisy = [*APP_FRAMES, {**native_frame("x"), **extra}]
        plain_hash = group(native_event(APP_FRAMES)).hash
        noisy_hash = group(native_event(noisy)).hash
    assert noisy_hash == plain_hash
