from __future__ import annotations

import copy
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtrail.digest.fingerprint_rules import (
    parse_fingerprint_rules,
    parse_stacktrace_rules,
)
from fixtrail.digest.grouping import (
    GROUPING_VERSIONS,
    LATEST_GROUPING_VERSION,
    UnknownGroupingVersion,
    compute_grouping,
)
from fixtrail.digest.grouping.v1 import clean_name, file_base_name
from fixtrail.digest.normalize import normalize_event
from tests.conftest import CORPUS_DIR, CORPUS_FILES

RECEIVED_AT = 1735787045.0


def group(data, *, fingerprint_rules="", stacktrace_rules=""):
    event = normalize_event(copy.deepcopy(data), received_at=RECEIVED_AT).data
    return compute_grouping(
        event,
        version=1,
        fingerprint_rules=parse_fingerprint_rules(fingerprint_rules),
        stacktrace_rules=parse_stacktrace_rules(stacktrace_rules),
    )


def frame(module="shop.views", function="checkout", line="return price(cart)", **extra):
    result = {
        "module": module,
        "function": function,
        "filename": module.replace(".", "/") + ".py",
        "abs_path": "/srv/app/" + module.replace(".", "/") + ".py",
        "lineno": 10,
        "context_line": f"    {line}",
        "in_app": True,
    }
    result.update(extra)
    return result


def python_event(
    frames=None, type_="ZeroDivisionError", value="division by zero", **extra
):
    if frames is None:
        frames = [
            frame(
                "django.core.handlers",
                "inner",
                "response = handler(request)",
                in_app=False,
            ),
            frame("shop.views", "checkout", "total = price(cart)"),
            frame("shop.pricing", "price", "return total / count"),
        ]
    data = {
        "platform": "python",
        "exception": {
            "values": [
                {"type": type_, "value": value, "stacktrace": {"frames": frames}}
            ]
        },
    }
    data.update(extra)
    return data


def js_frame(
    function, filename="https://cdn.example.com/static/app.3f2a1b9c.js", **extra
):
    result = {
        "function": function,
        "filename": filename,
        "abs_path": filename,
        "lineno": 1,
        "colno": 120,
    }
    result.update(extra)
    return result


def js_event(frames, type_="TypeError", value="x is undefined", **extra):
    data = {
        "platform": "javascript",
        "exception": {
            "values": [
                {"type": type_, "value": value, "stacktrace": {"frames": frames}}
            ]
        },
    }
    data.update(extra)
    return data


def with_frames(event, change):
    """Return a copy of ``event`` with ``change`` applied to each frame."""
    event = copy.deepcopy(event)
    for exc in event["exception"]["values"]:
        for f in exc.get("stacktrace", {}).get("frames", []):
            change(f)
    return event


def set_key(key, value):
    def change(f):
        f[key] = value

    return change


BASE = python_event()


# -- basics -------------------------------------------------------------------


def test_it_returns_a_32_hex_digit_hash_and_the_version():
    grouping = group(BASE)

    assert re.fullmatch(r"[0-9a-f]{32}", grouping.hash)
    assert grouping.version == 1
    assert grouping.fingerprint == ("{{ default }}",)
    assert grouping.rule is None
    assert grouping.config_id == "fixtrail:2026-11-26"


def test_it_knows_its_versions():
    assert LATEST_GROUPING_VERSION == 2
    assert sorted(GROUPING_VERSIONS) == [1, 2]


def test_it_rejects_an_unknown_version():
    with pytest.raises(UnknownGroupingVersion, match="^unknown grouping version 9$"):
        compute_grouping({}, version=9)


def test_it_explains_what_counted():
    explained = group(BASE).to_dict()

    chain = explained["component"]
    assert chain["id"] == "exception-chain"
    exception = chain["values"][0]
    assert [c["id"] for c in exception["values"]] == ["type", "stacktrace", "value"]
    stack = exception["values"][1]
    assert stack["values"][0] == {
        "id": "frame",
        "contributes": False,
        "hint": "not in app",
        "values": [
            {"id": "module", "contributes": True, "values": ["django.core.handlers"]},
            {"id": "function", "contributes": True, "values": ["inner"]},
            {
                "id": "context_line",
                "contributes": True,
                "values": ["response = handler(request)"],
            },
        ],
    }
    assert exception["values"][2] == {
        "id": "value",
        "contributes": False,
        "hint": "the stack trace counts instead",
        "values": ["division by zero"],
    }


def test_it_is_stable_for_a_known_event():
    # A released grouping version must never change its output: this hash
    # is pinned so that an accidental change fails here, not in production.
    assert group(BASE).hash == group(copy.deepcopy(BASE)).hash
    assert group(BASE).hash == PINNED_BASE_HASH


PINNED_BASE_HASH = "3b42b1eccfada63f04fa858337dfa9f7"


# -- the same bug groups together ---------------------------------------------


SAME_BUG = {
    "different message": with_frames(
        python_event(value="division by zero for order 7"), lambda f: None
    ),
    "different line numbers": with_frames(BASE, set_key("lineno", 99)),
    "different columns": with_frames(BASE, set_key("colno", 7)),
    "different paths": with_frames(BASE, set_key("abs_path", "/opt/releases/42/x.py")),
    "different variables": with_frames(BASE, set_key("vars", {"cart": "<Cart 991>"})),
    "different release and host": python_event(
        release="shop@9.9", server_name="web-42", environment="staging"
    ),
    "different user and tags": python_event(user={"id": 9}, tags={"shard": "eu-2"}),
    "different library frames": python_event(
        frames=[
            frame("gunicorn.workers", "handle", "self.handle_request()", in_app=False),
            frame("django.core.handlers", "get_response", "x = y", in_app=False),
            frame("shop.views", "checkout", "total = price(cart)"),
            frame("shop.pricing", "price", "return total / count"),
        ]
    ),
    "whitespace around the source line": with_frames(
        BASE, lambda f: f.update(context_line="\t" + f["context_line"].strip() + "   ")
    ),
}


@pytest.mark.parametrize("variant", list(SAME_BUG.values()), ids=list(SAME_BUG))
def test_it_groups_the_same_bug_together(variant):
    assert group(variant).hash == group(BASE).hash


def recursive_event(depth):
    frames = [
        frame("shop.tree", "walk", "return walk(node.child)") for _ in range(depth)
    ]
    frames.append(frame("shop.tree", "leaf", "return node.value / 0"))
    return python_event(frames=frames)


def mutual_recursion_event(rounds):
    frames = []
    for _ in range(rounds):
        frames.append(frame("shop.parse", "parse_list", "items.append(parse_value(t))"))
        frames.append(frame("shop.parse", "parse_value", "return parse_list(t)"))
    frames.append(frame("shop.parse", "parse_list", "raise ParseError(t)"))
    return python_event(frames=frames, type_="ParseError")


def test_it_collapses_recursion():
    assert group(recursive_event(2)).hash == group(recursive_event(40)).hash
    assert (
        group(mutual_recursion_event(2)).hash == group(mutual_recursion_event(25)).hash
    )


def test_it_explains_collapsed_recursion():
    stack = group(recursive_event(3)).to_dict()["component"]["values"][0]["values"][1]

    assert [f.get("hint") for f in stack["values"]] == [
        None,
        "repeated frames (recursion)",
        "repeated frames (recursion)",
        None,
    ]


@pytest.mark.parametrize(
    ("family_platform", "first", "second", "expected"),
    [
        (
            "java",
            "com.shop.Cart$$Lambda$123/0x0000000800c5b440",
            "com.shop.Cart$$Lambda$77/0x0000000801000a00",
            "com.shop.Cart$$Lambda",
        ),
        (
            "java",
            "com.shop.Cart$$Lambda/0x0000000800c5b440",
            "com.shop.Cart$$Lambda/0x00000008000ff0a8",
            "com.shop.Cart$$Lambda",
        ),
        ("java", "lambda$checkout$0", "lambda$checkout$3", "lambda$checkout"),
        (
            "java",
            "com.shop.Cart$$EnhancerBySpringCGLIB$$a1b2c3d4",
            "com.shop.Cart$$EnhancerBySpringCGLIB$$ffee0011",
            "com.shop.Cart$$EnhancerBySpringCGLIB",
        ),
        (
            "java",
            "com.sun.proxy.$Proxy12",
            "com.sun.proxy.$Proxy99",
            "com.sun.proxy.$Proxy",
        ),
        (
            "java",
            "sun.reflect.GeneratedMethodAccessor45",
            "sun.reflect.GeneratedMethodAccessor7",
            "sun.reflect.GeneratedMethodAccessor",
        ),
        ("java", "com.shop.Cart$1", "com.shop.Cart$2", "com.shop.Cart"),
        ("csharp", "<CheckoutAsync>d__4", "<CheckoutAsync>d__17", "<CheckoutAsync>d"),
        ("csharp", "<>c__DisplayClass5_0", "<>c__DisplayClass12_3", "<>c"),
        (
            "php",
            "class@anonymous\x00/srv/app/a.php0x7190ad3c35cf::run",
            "class@anonymous\x00/srv/app/a.php0x7f00beef0000::run",
            "class@anonymous::run",
        ),
        (
            "php",
            "{closure:/srv/app/routes.php:12}",
            "{closure:/srv/app/routes.php:40}",
            "{closure}",
        ),
        (
            "ruby",
            "_app_views_cart_show_html_erb___2756059467081281717_70311862025960",
            "_app_views_cart_show_html_erb___11_22",
            "_app_views_cart_show_html_erb",
        ),
        (
            "ruby",
            "block (2 levels) in checkout",
            "block (4 levels) in checkout",
            "block in checkout",
        ),
        (
            "native",
            "std::vector<int, std::allocator<int> >::push_back(int const&)",
            "std::vector<long, std::allocator<long> >::push_back(long const&)",
            "std::vector<T>::push_back",
        ),
        (
            "native",
            "<lambda_5db80dab47756d3e72c2dcd38b80b1dd>::operator()",
            "<lambda_0a1b2c3d>::operator()",
            "<lambda>::operator",
        ),
        (
            "native",
            "closure #1 in Cart.checkout()",
            "closure #2 in Cart.checkout()",
            "closure in Cart.checkout",
        ),
        ("javascript", "async checkout", "checkout", "checkout"),
        ("javascript", "Promise.all (index 0)", "Promise.all (index 3)", "Promise.all"),
        ("javascript", "Cart.checkout [as onClick]", "Cart.checkout", "Cart.checkout"),
    ],
)
def test_it_removes_generated_parts_from_names(
    family_platform, first, second, expected
):
    family = {"java": "other", "csharp": "other", "php": "other", "ruby": "other"}.get(
        family_platform, family_platform
    )

    assert clean_name(first, family) == expected
    assert clean_name(second, family) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("https://cdn.example.com/static/app.3f2a1b9c.js", "app.js"),
        ("https://cdn.example.com/static/app.js?v=123#x", "app.js"),
        ("/static/js/158.chunk.js", "<n>.chunk.js"),
        ("webpack:///./src/cart-5788ef38fefa.js", "cart.js"),
        ("C:\\app\\src\\Cart.cs", "Cart.cs"),
        ("app.js", "app.js"),
    ],
)
def test_it_cleans_file_base_names(path, expected):
    assert file_base_name(path) == expected


def test_it_groups_java_lambdas_across_runs():
    def java(name):
        return {
            "platform": "java",
            "exception": {
                "values": [
                    {
                        "type": "IllegalStateException",
                        "value": "x",
                        "stacktrace": {
                            "frames": [
                                {"module": name, "function": "apply", "in_app": True},
                                {
                                    "module": "com.shop.Cart",
                                    "function": "lambda$checkout$0",
                                    "in_app": True,
                                },
                            ]
                        },
                    }
                ]
            },
        }

    assert (
        group(java("com.shop.Cart$$Lambda$1/0x1234abcd")).hash
        == group(java("com.shop.Cart$$Lambda$9/0xffff0000")).hash
    )


def test_it_groups_javascript_across_bundle_hashes():
    first = js_event(
        [js_frame("checkout", in_app=True), js_frame("price", in_app=True)]
    )
    second = js_event(
        [
            js_frame(
                "checkout",
                "https://cdn.example.com/static/app.9d8e7f6a.js",
                in_app=True,
            ),
            js_frame(
                "price", "https://cdn.example.com/static/app.9d8e7f6a.js", in_app=True
            ),
        ]
    )

    assert group(first).hash == group(second).hash


def test_it_groups_values_without_stack_trace_by_their_parameterized_form():
    first = {
        "exception": [
            {
                "type": "TimeoutError",
                "value": "GET https://api.example.com/u/1 timed out after 30s "
                "(req 74e45def-dd8e-4b7a-b5a7-fab97a534875)",
            }
        ]
    }
    second = {
        "exception": [
            {
                "type": "TimeoutError",
                "value": "GET https://api.example.com/u/99 timed out after 12s "
                "(req 11111111-2222-4333-8444-555555555555)",
            }
        ]
    }

    assert group(first).hash == group(second).hash
    leaves = [text for _, text in group(first).component.leaves()]
    assert leaves == ["TimeoutError", "GET <url> timed out after <int>s (req <uuid>)"]


def test_it_groups_log_messages_by_template():
    first = {"logentry": {"message": "payment %s failed", "params": ["p-1"]}}
    second = {"logentry": {"message": "payment %s failed", "params": ["p-2"]}}

    assert group(first).hash == group(second).hash
    assert [t for _, t in group(first).component.leaves()] == ["payment %s failed"]


def test_it_groups_messages_without_template_by_their_parameterized_form():
    assert (
        group({"message": "user 17 logged out"}).hash
        == group({"message": "user 4711 logged out"}).hash
    )


def test_it_ignores_a_stack_trace_attached_to_a_log_message():
    with_stack = {"message": "cache miss", "stacktrace": {"frames": [frame()]}}

    assert group(with_stack).hash == group({"message": "cache miss"}).hash


def test_it_groups_a_lone_stack_trace_by_its_frames():
    threads = {
        "threads": {
            "values": [
                {"id": 1, "stacktrace": {"frames": [frame("a.b", "idle")]}},
                {
                    "id": 2,
                    "crashed": True,
                    "stacktrace": {"frames": [frame("a.b", "crash")]},
                },
            ]
        }
    }
    other = copy.deepcopy(threads)
    other["threads"]["values"][1]["stacktrace"]["frames"][0]["function"] = "other"

    assert group(threads).component.id == "threads"
    assert group(threads).hash != group(other).hash


def test_it_groups_empty_events_together():
    assert group({}).hash == group({"level": "info"}).hash
    assert [t for _, t in group({}).component.leaves()] == [
        "<no exception, message or stack trace>"
    ]


# -- different bugs stay apart ------------------------------------------------


DIFFERENT_BUG = {
    "different type": python_event(type_="KeyError"),
    "different in-app function": with_frames(
        BASE,
        lambda f: f.update(function="price_v2") if f["function"] == "price" else None,
    ),
    "different in-app module": with_frames(
        BASE,
        lambda f: (
            f.update(module="shop.tax") if f["module"] == "shop.pricing" else None
        ),
    ),
    "different source line": with_frames(
        BASE,
        lambda f: (
            f.update(context_line="return total / n")
            if f["function"] == "price"
            else None
        ),
    ),
    "different caller": python_event(
        frames=[
            frame("shop.api", "order", "total = price(cart)"),
            frame("shop.pricing", "price", "return total / count"),
        ]
    ),
    "a cause added to the chain": {
        "platform": "python",
        "exception": {
            "values": [
                {"type": "KeyError", "value": "'x'"},
                BASE["exception"]["values"][0],
            ]
        },
    },
}


@pytest.mark.parametrize(
    "variant", list(DIFFERENT_BUG.values()), ids=list(DIFFERENT_BUG)
)
def test_it_keeps_different_bugs_apart(variant):
    assert group(variant).hash != group(BASE).hash


def test_it_separates_values_without_stack_trace_that_differ_in_words():
    assert (
        group({"exception": [{"type": "E", "value": "disk full"}]}).hash
        != group({"exception": [{"type": "E", "value": "disk missing"}]}).hash
    )


def test_it_counts_all_frames_without_in_app_frames():
    event = with_frames(BASE, set_key("in_app", False))
    library_changed = with_frames(
        event,
        lambda f: f.update(function="dispatch") if f["function"] == "inner" else None,
    )

    stack = group(event).to_dict()["component"]["values"][0]["values"][1]
    assert stack["hint"] == "no in-app frames, so all frames count"
    assert group(event).hash != group(library_changed).hash


def test_it_uses_the_value_when_no_frame_counts():
    event = python_event(frames=[{"lineno": 3, "in_app": True}], value="disk 3 full")

    leaves = [t for _, t in group(event).component.leaves()]
    assert leaves == ["ZeroDivisionError", "disk <int> full"]


# -- JavaScript ---------------------------------------------------------------


def test_it_ignores_minified_function_names():
    bundle = "https://cdn.example.com/static/vendor.min.js"
    first = js_event(
        [js_frame("n", bundle), js_frame("o.e", bundle)], value="x is undefined"
    )
    second = js_event(
        [js_frame("t", bundle), js_frame("a.r", bundle)], value="x is undefined"
    )
    other_value = js_event([js_frame("n", bundle)], value="y is null")

    assert group(first).hash == group(second).hash
    assert group(first).hash != group(other_value).hash
    assert [t for _, t in group(first).component.leaves()] == [
        "TypeError",
        "x is undefined",
    ]


def test_it_counts_real_function_names_in_minified_files():
    bundle = "https://cdn.example.com/static/vendor.min.js"
    event = js_event([js_frame("checkoutCart", bundle), js_frame("n", bundle)])

    assert [t for _, t in group(event).component.leaves()] == [
        "TypeError",
        "vendor.min.js",
        "checkoutCart",
    ]


def test_it_counts_short_names_in_files_that_are_not_minified():
    event = js_event([js_frame("go", "https://example.com/app.js", colno=5)])

    assert [t for _, t in group(event).component.leaves()] == [
        "TypeError",
        "app.js",
        "go",
    ]


def test_it_ignores_anonymous_javascript_functions_without_source():
    event = js_event(
        [
            js_frame("<anonymous>"),
            js_frame("?"),
            js_frame("Object.<anonymous>"),
            js_frame("render"),
        ]
    )

    assert [t for _, t in group(event).component.leaves()] == [
        "TypeError",
        "app.js",
        "render",
    ]


def test_it_ignores_minified_source_lines():
    event = js_event(
        [js_frame("render", context_line="{snip} var a=1;b=2" + "x" * 200, in_app=True)]
    )

    assert [t for _, t in group(event).component.leaves()] == [
        "TypeError",
        "app.js",
        "render",
    ]


def test_it_uses_node_modules_rather_than_file_names():
    def node(module):
        return {
            "platform": "node",
            "exception": [
                {
                    "type": "Error",
                    "value": "x",
                    "stacktrace": {
                        "frames": [
                            {
                                "module": module,
                                "filename": f"/srv/{module}/index.js",
                                "function": "handler",
                                "in_app": True,
                            }
                        ]
                    },
                }
            ],
        }

    assert [t for _, t in group(node("app.routes:index")).component.leaves()] == [
        "Error",
        "app.routes:index",
        "handler",
    ]
    assert group(node("app.routes:index")).hash != group(node("app.admin:index")).hash


# -- exception groups ---------------------------------------------------------


def exception_group(children):
    values = [
        {
            "type": t,
            "value": v,
            "mechanism": {"type": "chained", "exception_id": i + 1, "parent_id": 0},
        }
        for i, (t, v) in enumerate(children)
    ]
    values.append(
        {
            "type": "ExceptionGroup",
            "value": "tasks failed",
            "mechanism": {
                "type": "excepthook",
                "exception_id": 0,
                "is_exception_group": True,
            },
            "stacktrace": {
                "frames": [frame("shop.tasks", "run_all", "async with group:")]
            },
        }
    )
    return {"platform": "python", "exception": {"values": values}}


def test_it_groups_exception_groups_by_their_distinct_members():
    first = exception_group([("ValueError", "a 1"), ("KeyError", "'b'")])
    reordered = exception_group([("KeyError", "'c'"), ("ValueError", "a 2")])
    duplicated = exception_group(
        [("KeyError", "'b'"), ("ValueError", "a 3"), ("ValueError", "a 4")]
    )
    different = exception_group([("ValueError", "a 1"), ("TypeError", "b")])

    assert group(first).hash == group(reordered).hash
    assert group(first).hash == group(duplicated).hash
    assert group(first).hash != group(different).hash


def test_it_keeps_the_order_of_a_plain_cause_chain():
    def chain(first, second):
        return {
            "exception": [
                {
                    "type": first,
                    "mechanism": {"type": "chained", "exception_id": 1, "parent_id": 0},
                },
                {"type": second, "mechanism": {"type": "onerror", "exception_id": 0}},
            ]
        }

    assert group(chain("KeyError", "ValueError")).component.id == "exception-chain"
    assert (
        group(chain("KeyError", "ValueError")).hash
        != group(chain("ValueError", "KeyError")).hash
    )


# -- fingerprints -------------------------------------------------------------


def test_it_uses_the_sdk_fingerprint():
    first = python_event(fingerprint=["payments"])
    other_bug = python_event(type_="KeyError", fingerprint=["payments"])

    assert group(first).hash == group(other_bug).hash
    assert group(first).hash != group(BASE).hash
    assert group(first).fingerprint == ("payments",)


def test_it_treats_a_default_only_fingerprint_as_no_fingerprint():
    assert group(python_event(fingerprint=["{{ default }}"])).hash == group(BASE).hash
    assert group(python_event(fingerprint=["{{default}}"])).hash == group(BASE).hash


def test_it_refines_the_default_grouping():
    acme = python_event(fingerprint=["{{ default }}", "acme"])
    globex = python_event(fingerprint=["{{ default }}", "globex"])

    assert group(acme).hash != group(globex).hash
    assert group(acme).hash != group(BASE).hash
    assert group(acme).hash == group(with_frames(acme, set_key("lineno", 5))).hash


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("{{ type }}", "ZeroDivisionError"),
        ("{{ error.type }}", "ZeroDivisionError"),
        ("{{ value }}", "division by zero"),
        ("{{ function }}", "price"),
        ("{{ module }}", "shop.pricing"),
        ("{{ transaction }}", "/checkout"),
        ("{{ level }}", "warning"),
        ("{{ logger }}", "shop.orders"),
        ("{{ message }}", "while pricing"),
        ("{{ platform }}", "python"),
        ("{{ tags.region }}", "eu"),
        ("{{ tags.environment }}", "production"),
        ("{{ tags.missing }}", "<no tags.missing>"),
        ("{{ package }}", "<no package>"),
        ("{{ whatever }}", "{{ whatever }}"),
    ],
)
def test_it_expands_fingerprint_variables(variable, expected):
    event = python_event(
        fingerprint=["fp", variable],
        transaction="/checkout",
        level="warning",
        logger="shop.orders",
        message="while pricing",
        tags={"region": "eu"},
        environment="production",
    )

    assert [t for _, t in group(event).component.leaves()] == ["fp", expected]


def test_it_lets_project_rules_override_the_sdk_fingerprint():
    event = python_event(fingerprint=["from-sdk"])

    grouping = group(
        event, fingerprint_rules="# db\ntype:ZeroDivisionError -> math, {{ function }}"
    )

    assert grouping.fingerprint == ("math", "{{ function }}")
    assert (
        grouping.rule == "line 2: error.type:ZeroDivisionError -> math, {{ function }}"
    )
    assert [t for _, t in grouping.component.leaves()] == ["math", "price"]
    assert grouping.component.hint == "fingerprint rule on line 2"


def test_it_falls_back_when_no_rule_matches():
    assert (
        group(BASE, fingerprint_rules="type:KeyError -> keys").hash == group(BASE).hash
    )


# -- stack-trace rules --------------------------------------------------------


def test_it_excludes_frames_from_grouping_by_rule():
    without_views = python_event(
        frames=[BASE["exception"]["values"][0]["stacktrace"]["frames"][2]]
    )

    grouping = group(BASE, stacktrace_rules="module:shop.views -group")

    assert grouping.hash == group(without_views).hash
    stack = grouping.to_dict()["component"]["values"][0]["values"][1]
    assert stack["values"][1]["hint"] == "excluded by stack trace rule on line 1"


def test_it_marks_frames_in_app_by_rule():
    library = group(BASE, stacktrace_rules="module:django.* +app")
    hidden = group(BASE, stacktrace_rules="module:shop.views -app")

    assert library.hash != group(BASE).hash
    assert (
        hidden.hash
        == group(
            python_event(
                frames=[BASE["exception"]["values"][0]["stacktrace"]["frames"][2]]
            )
        ).hash
    )


def test_it_forces_a_library_frame_into_grouping_by_rule():
    forced = group(BASE, stacktrace_rules="module:django.* +group")

    stack = forced.to_dict()["component"]["values"][0]["values"][1]
    assert stack["values"][0]["contributes"] is True
    assert stack["values"][0]["hint"] == "included by stack trace rule on line 1"
    assert forced.hash != group(BASE).hash


# -- the corpus ---------------------------------------------------------------


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
@pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_it_groups_every_corpus_event_stably(path):
    raw = path.read_bytes()
    first = compute_grouping(
        normalize_event(orjson.loads(raw), received_at=RECEIVED_AT).data, version=1
    )
    second = compute_grouping(
        normalize_event(orjson.loads(raw), received_at=RECEIVED_AT + 60).data, version=1
    )

    assert re.fullmatch(r"[0-9a-f]{32}", first.hash)
    assert first.hash == second.hash
    assert orjson.loads(orjson.dumps(first.to_dict()))["hash"] == first.hash


@pytest.mark.skipif(
    not CORPUS_FILES, reason="../shared/corpus/sdk-events is not present"
)
def test_it_groups_the_same_corpus_bug_sent_by_different_browsers_apart_from_others():
    def corpus_hash(name):
        data = orjson.loads((CORPUS_DIR / "sentry" / name).read_bytes())
        return compute_grouping(
            normalize_event(data, received_at=RECEIVED_AT).data, version=1
        ).hash

    # The same page loaded from a file and over HTTP.
    assert corpus_hash("javascript-xbrowser-chrome.json") == corpus_hash(
        "javascript-xbrowser-http-chrome.json"
    )
    assert corpus_hash("javascript-xbrowser-chrome.json") != corpus_hash(
        "javascript-xbrowser-firefox.json"
    )


# -- arbitrary input ----------------------------------------------------------


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FRAME = st.fixed_dictionaries(
    {},
    optional={
        key: JSON | st.text(max_size=20)
        for key in ("module", "function", "filename", "context_line", "in_app", "colno")
    },
)
EXCEPTION = st.fixed_dictionaries(
    {},
    optional={
        "type": JSON,
        "value": JSON,
        "mechanism": st.fixed_dictionaries(
            {}, optional={"is_exception_group": st.booleans(), "synthetic": JSON}
        ),
        "stacktrace": st.fixed_dictionaries({"frames": st.lists(FRAME, max_size=5)}),
    },
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "platform": st.sampled_from(["python", "javascript", "node", "native", "java"]),
        "exception": st.lists(EXCEPTION, max_size=4) | JSON,
        "message": JSON,
        "logentry": JSON,
        "fingerprint": st.lists(
            st.sampled_from(["{{ default }}", "{{ function }}", "{{ tags.x }}", "a"])
            | JSON,
            max_size=3,
        ),
        "stacktrace": st.fixed_dictionaries({"frames": st.lists(FRAME, max_size=4)}),
        "tags": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(EVENT)
def test_it_groups_any_normalized_event(data):
    rules = "type:* -> all, {{ default }}\nmessage:*a* -> a"
    first = group(data, fingerprint_rules=rules, stacktrace_rules="function:a* -group")

    assert re.fullmatch(r"[0-9a-f]{32}", first.hash)
    orjson.dumps(first.to_dict())
