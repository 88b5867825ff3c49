"""Grouping version 1 (config id ``fixtrail:2026-11-26``).

Changelog:

- 1 (2026-11-26): first version.

Released versions never change their output: a different hash for the same
event would split or merge issues. Fix a mistake by adding ``v2.py`` and a
row in ``GROUPING_VERSIONS``; projects move to it deliberately. This module
depends on :func:`fixtrail.lib.parameterize.parameterize` and the component
encoding in :mod:`fixtrail.digest.grouping.components`, which are frozen for
the same reason.

What counts, in order of precedence (see :func:`group_event`):

1. A fingerprint: the first matching project fingerprint rule's, else the
   one the SDK sent. ``{{ default }}`` stands for the default grouping
   below; other ``{{ variables }}`` are expanded; anything else is literal.
2. Exceptions: every exception of the chain, each by its type plus its
   stack trace; the value (parameterized) counts only for an exception
   whose stack trace counts for nothing. The exceptions of an exception
   group count as a set: duplicates and order do not matter.
3. Without exceptions, a log message: the template (``logentry.message``)
   when there is one, else the formatted message, parameterized. A stack
   trace attached to a log message does not count, so one ``logger.error``
   call reached from many places stays one issue.
4. Without either, a lone stack trace (``stacktrace`` or the crashed or
   current thread's).

A stack trace counts by its in-app frames (``in_app`` as sent, changed by
``+app``/``-app`` rules), or by all frames when none is in-app. A frame
counts by its module (else, and always for browser JavaScript, its file's
base name without build hashes), its function with the
platform's noise removed, and for Python, JavaScript, Node, PHP and Ruby its
source line (``context_line``); never its line or column number. A frame
counts only when its function or its source line does. Repeated runs of up
to MAX_RECURSION_PERIOD frames (recursion) count once.

Minified JavaScript: in a file that looks minified (``.min.`` in its name,
a ``{snip}`` or overlong source line, or a column past 1000), one- and
two-letter function names (``n``, ``o.e``) change with every build and do
not count. Such a frame then has nothing stable left and does not count,
so a stack trace with no source maps at all falls back to the exception's
type and parameterized value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from fixtrail.digest.fingerprint_rules import (
    NO_VERDICT,
    FingerprintRules,
    FrameVerdict,
    StacktraceRules,
    event_tag_lookup,
    log_message,
    platform_family,
    variable_name,
)
from fixtrail.digest.grouping.components import Component
from fixtrail.lib.parameterize import parameterize

CONFIG_ID = "fixtrail:2026-11-26"

CONTEXT_LINE_PLATFORMS = frozenset({"python", "javascript", "node", "php", "ruby"})
# Longer source lines are minified bundles or generated code.
MAX_GROUPING_CONTEXT_LINE_CHARS = 120
# Minified bundles are one long line, so real code rarely reaches this column.
MINIFIED_MIN_COLUMN = 1000
# Mutual recursion through up to this many functions collapses to one round.
MAX_RECURSION_PERIOD = 4
NAME_CACHE_SIZE = 16384
# Template arguments nest deeper than this only in generated code.
MAX_TEMPLATE_NESTING = 8

_ANONYMOUS = frozenset(
    {
        "",
        "?",
        "<anonymous>",
        "anonymous",
        "<lambda>",
        "lambda",
        "{closure}",
        "<unknown>",
        "unknown",
        "Object.<anonymous>",
        "Anonymous function",
        "<redacted>",
    }
)

# Rewrites applied to module and function names of every platform, in order.
# Each removes a part that the compiler, runtime or template engine generates
# and that changes between builds or runs.
_NAME_REWRITES = (
    # Memory addresses (PHP anonymous classes, JVM hidden classes).
    (re.compile(r"0x[0-9a-fA-F]{4,}"), ""),
    # MSVC lambdas carry a hash of their body: <lambda_5db80dab47756d3e>.
    (re.compile(r"<lambda_[0-9a-fA-F]+>"), "<lambda>"),
    # Java lambdas: Foo$$Lambda$123/0x.. and Foo$$Lambda/0x.. (JDK 21).
    (re.compile(r"\$\$Lambda(?:\$\d+)?(?:/\d*)?"), "$$Lambda"),
    (re.compile(r"\blambda\$([\w$]*?)\$\d+\b"), r"lambda$\1"),
    # Spring/CGLIB/Hibernate/JDK proxies and reflection accessors.
    (re.compile(r"\$\$(\w+?)\$\$[0-9a-fA-F_]+"), r"$$\1"),
    (re.compile(r"\$HibernateProxy\$\w+"), "$HibernateProxy"),
    (re.compile(r"\$Proxy\d+"), "$Proxy"),
    (re.compile(r"\b(Generated\w*?Accessor)\d+"), r"\1"),
    # Anonymous inner classes: Foo$1, Foo$1$2.
    (re.compile(r"(?:\$\d+)+(?=\W|$)"), ""),
    # .NET compiler-generated names: <Main>d__4, <>c__DisplayClass5_0, <Run>b__0_1.
    (re.compile(r"<([\w]*)>([a-z])__\w*"), r"<\1>\2"),
    # Ruby compiled templates (_app_views_x_html_erb___1234_5678) and blocks.
    (re.compile(r"___?\d+_\d+"), ""),
    (re.compile(r"block \(\d+ levels\) in"), "block in"),
    # PHP anonymous classes and closures (PHP 8.4 puts file and line in them).
    (re.compile(r"class@anonymous[^:]*"), "class@anonymous"),
    (re.compile(r"\{closure:[^}]*\}"), "{closure}"),
)
_NATIVE_PARAMS = re.compile(r"\((?:[^()]|\([^()]*\))*\)(?:\s*const)?$")
_NATIVE_TEMPLATE = re.compile(r"<[^<>]*>")
# Names such as <redacted> or <compiler-generated>: angle brackets, no template.
_WHOLE_ANGLE_NAME = re.compile(r"<[^<>]*>")
_SWIFT_CLOSURE_NUMBER = re.compile(r"(closure|implicit closure) #\d+")
_JS_DECORATIONS = re.compile(
    r"^(?:async |new )|(?:\s*\[as [^\]]*\])|(?:\s*\(index \d+\))|(?:/<)+$"
)
_FILE_HASH = re.compile(r"[.\-_~](?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}(?=[.\-_~])")
_FILE_NUMBER = re.compile(r"^\d+(?=\.)")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


@lru_cache(maxsize=NAME_CACHE_SIZE)
def clean_name(name: str, family: str) -> str:
    """Return a module or function name without generated parts."""
    for pattern, replacement in _NAME_REWRITES:
        if pattern.search(name):
            name = pattern.sub(replacement, name)
    if family == "native":
        name = _SWIFT_CLOSURE_NUMBER.sub(r"\1", name)
        if not name.startswith(("-[", "+[")) and not _WHOLE_ANGLE_NAME.fullmatch(name):
            # C++ and Swift: drop the parameter list, then collapse template
            # arguments from the inside out (vector<pair<a, b>> -> vector<T>).
            name = _NATIVE_PARAMS.sub("", name).replace("<lambda>", "\x01")
            for _ in range(MAX_TEMPLATE_NESTING):
                collapsed = _NATIVE_TEMPLATE.sub("<T>", name.replace("<T>", "\x00"))
                collapsed = collapsed.replace("\x00", "<T>")
                if collapsed == name:
                    break
                name = collapsed
            name = name.replace("\x01", "<lambda>")
    elif family == "javascript":
        name = _JS_DECORATIONS.sub("", name)
    return name.strip()


@lru_cache(maxsize=NAME_CACHE_SIZE)
def file_base_name(path: str) -> str:
    """Return a file's base name without query, build hashes or chunk numbers."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    base = path.rstrip("/\\").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    base = _FILE_HASH.sub("", base)
    return _FILE_NUMBER.sub("<n>", base)


def _is_minified_name(name: str) -> bool:
    # "n", "o.e", "g/</t[e]": every identifier has one or two characters.
    identifiers = _IDENTIFIER.findall(name)
    return bool(identifiers) and all(len(i) <= 2 for i in identifiers)


def _looks_minified(frame: Mapping[str, Any], base: str) -> bool:
    if ".min." in base:
        return True
    line = frame.get("context_line")
    if line is not None and (
        len(line) > MAX_GROUPING_CONTEXT_LINE_CHARS or "{snip}" in line
    ):
        return True
    return (frame.get("colno") or 0) > MINIFIED_MIN_COLUMN


def frame_component(frame: Mapping[str, Any], platform: str) -> Component:
    """Return the component of one frame (before in-app and recursion checks)."""
    frame_platform = frame.get("platform") or platform
    family = platform_family(frame_platform)
    values: list[Component | str] = []
    path = frame.get("filename") or frame.get("abs_path")
    base = file_base_name(path) if path else ""
    module = frame.get("module")
    # Browser SDKs derive the module from the URL path, which carries build
    # hashes; Node's (package and file, "jest-mock.build:index") is stable.
    if module and frame_platform != "javascript":
        values.append(Component("module", [clean_name(module, family)]))
    elif base:
        values.append(Component("filename", [base]))

    function = frame.get("function") or frame.get("raw_function")
    function_counts = False
    if function:
        cleaned = clean_name(function, family)
        if cleaned in _ANONYMOUS or cleaned.endswith(".<anonymous>"):
            values.append(
                Component("function", [cleaned]).exclude("anonymous function")
            )
        elif (
            family == "javascript"
            and _is_minified_name(cleaned)
            and _looks_minified(frame, base)
        ):
            values.append(
                Component("function", [cleaned]).exclude("minified function name")
            )
        else:
            values.append(Component("function", [cleaned]))
            function_counts = True

    line_counts = False
    context_line = frame.get("context_line")
    if context_line and frame_platform in CONTEXT_LINE_PLATFORMS:
        line = context_line.strip()
        if not line:
            pass
        elif len(line) > MAX_GROUPING_CONTEXT_LINE_CHARS or "{snip}" in line:
            values.append(
                Component("context_line", [line[:40]]).exclude(
                    "source line too long (minified?)"
                )
            )
        else:
            values.append(Component("context_line", [line]))
            line_counts = True

    component = Component("frame", values)
    if not function_counts and not line_counts:
        component.exclude("no function name or source line")
    return component


def _collapse_recursion(frames: list[Component]) -> None:
    kept: list[Component] = []
    keys: list[tuple[str, ...]] = []
    for frame in frames:
        if not frame.contributes:
            continue
        kept.append(frame)
        keys.append(frame.texts())
        for period in range(1, MAX_RECURSION_PERIOD + 1):
            if (
                len(keys) >= 2 * period
                and keys[-period:] == keys[-2 * period : -period]
            ):
                for repeated in kept[-period:]:
                    repeated.exclude("repeated frames (recursion)")
                del kept[-period:]
                del keys[-period:]
                break


def stacktrace_component(
    frames: list[Mapping[str, Any]],
    platform: str,
    rules: StacktraceRules | None,
) -> Component:
    """Return the component of a stack trace, frames caller first."""
    family = platform_family(platform)
    verdicts: list[FrameVerdict] = [
        rules.evaluate(frame, family) if rules is not None else NO_VERDICT
        for frame in frames
    ]
    in_app = [
        v.in_app if v.in_app is not None else frame.get("in_app") is True
        for frame, v in zip(frames, verdicts, strict=True)
    ]
    only_in_app = any(in_app)
    components = []
    for frame, verdict, app in zip(frames, verdicts, in_app, strict=True):
        component = frame_component(frame, platform)
        if verdict.group is False:
            component.exclude(
                f"excluded by stack trace rule on line {verdict.group_line}"
            )
        elif verdict.group is True:
            if component.contributes:
                component.hint = (
                    f"included by stack trace rule on line {verdict.group_line}"
                )
        elif only_in_app and not app:
            component.exclude("not in app")
        components.append(component)
    _collapse_recursion(components)
    stacktrace = Component("stacktrace", list(components))
    if stacktrace.contributes and not only_in_app:
        stacktrace.hint = "no in-app frames, so all frames count"
    return stacktrace


def exception_component(
    exc: Mapping[str, Any], platform: str, rules: StacktraceRules | None
) -> Component:
    """Return the component of one exception: type, stack trace, value."""
    mechanism = exc.get("mechanism") or {}
    synthetic = mechanism.get("synthetic") is True
    values: list[Component | str] = []
    type_ = exc.get("type")
    if type_:
        # Synthetic types are made up from signal numbers and addresses.
        values.append(Component("type", [parameterize(type_) if synthetic else type_]))
    frames = (exc.get("stacktrace") or {}).get("frames")
    stack = stacktrace_component(frames, platform, rules) if frames else None
    if stack is not None:
        values.append(stack)
    value = exc.get("value")
    if value:
        component = Component("value", [parameterize(value)])
        if stack is not None and stack.contributes:
            component.exclude("the stack trace counts instead")
        elif synthetic and type_:
            component.exclude("synthetic exception: the value is made up")
        values.append(component)
    return Component("exception", values)


def _is_exception_group(exceptions: list[Mapping[str, Any]]) -> bool:
    # Only the flag tells a group apart: the JavaScript SDK also sets
    # exception_id/parent_id on plain "cause" chains.
    return any(
        (exc.get("mechanism") or {}).get("is_exception_group") is True
        for exc in exceptions
    )


def exception_chain_component(
    exceptions: list[Mapping[str, Any]], platform: str, rules: StacktraceRules | None
) -> Component:
    """Return the component of the whole chain, oldest cause first."""
    components = [exception_component(exc, platform, rules) for exc in exceptions]
    if len(components) > 1 and _is_exception_group(exceptions):
        # The last exception is the one that was raised (the group itself);
        # the others count as a set, since tasks fail in any order.
        *members, raised = components
        distinct: dict[tuple[tuple[str, str], ...], Component] = {}
        for member in members:
            key = tuple(member.leaves())
            if key in distinct:
                member.exclude("same as another exception of the group")
            else:
                distinct[key] = member
        ordered = sorted(members, key=lambda c: tuple(c.leaves()))
        return Component(
            "exception-group",
            [*ordered, raised],
            hint="exception group: its exceptions count as a set",
        )
    return Component("exception-chain", components)


def message_component(event: Mapping[str, Any]) -> Component | None:
    """Return the component of the log message, or None without one."""
    logentry = event.get("logentry") or {}
    template = logentry.get("message")
    if template:
        return Component("message", [parameterize(template)], hint="log template")
    formatted = logentry.get("formatted")
    if formatted:
        return Component(
            "message", [parameterize(formatted)], hint="parameterized message"
        )
    return None


def _lone_stacktrace(event: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    frames = (event.get("stacktrace") or {}).get("frames")
    if frames:
        return frames
    threads = (event.get("threads") or {}).get("values") or ()
    for flag in ("crashed", "current"):
        for thread in threads:
            frames = (thread.get("stacktrace") or {}).get("frames")
            if thread.get(flag) is True and frames:
                return frames
    with_stack = [t for t in threads if (t.get("stacktrace") or {}).get("frames")]
    if len(with_stack) == 1:
        return with_stack[0]["stacktrace"]["frames"]
    return None


def default_component(
    event: Mapping[str, Any], rules: StacktraceRules | None
) -> Component:
    """Return the built-in grouping of a normalized event."""
    platform = event.get("platform") or "other"
    exceptions = (event.get("exception") or {}).get("values")
    if exceptions:
        return exception_chain_component(exceptions, platform, rules)
    message = message_component(event)
    if message is not None:
        return message
    frames = _lone_stacktrace(event)
    if frames:
        return Component("threads", [stacktrace_component(frames, platform, rules)])
    return Component("fallback", ["<no exception, message or stack trace>"])


def _top_frame(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    exceptions = (event.get("exception") or {}).get("values")
    if exceptions:
        frames = (exceptions[-1].get("stacktrace") or {}).get("frames")
    else:
        frames = _lone_stacktrace(event)
    if not frames:
        return None
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            return frame
    return frames[-1]


def expand_variable(name: str, event: Mapping[str, Any]) -> str:
    """Return the value of a fingerprint ``{{ name }}`` (not ``default``)."""
    main: Mapping[str, Any] = {}
    exceptions = (event.get("exception") or {}).get("values")
    if exceptions:
        main = exceptions[-1]
    value: Any = None
    if name == "type":
        value = main.get("type")
    elif name == "value":
        value = main.get("value")
    elif name == "message":
        value = log_message(event)
    elif name in ("transaction", "level", "logger", "platform"):
        value = event.get(name)
    elif name in ("function", "module", "package"):
        frame = _top_frame(event)
        if frame is not None:
            value = frame.get(name)
            if value and name != "package":
                value = clean_name(value, platform_family(event.get("platform")))
    elif name.startswith("tags."):
        value = event_tag_lookup(event).get(name[5:])
    else:
        return f"{{{{ {name} }}}}"
    return value if isinstance(value, str) and value else f"<no {name}>"


def fingerprint_component(
    fingerprint: tuple[str, ...] | list[str],
    event: Mapping[str, Any],
    rules: StacktraceRules | None,
    hint: str,
) -> Component:
    """Return the component of a custom fingerprint, variables expanded."""
    values: list[Component | str] = []
    for entry in fingerprint:
        name = variable_name(entry)
        if name == "default":
            values.append(default_component(event, rules))
        elif name is not None:
            values.append(
                Component("variable", [expand_variable(name, event)], hint=entry)
            )
        else:
            values.append(Component("value", [entry]))
    return Component("fingerprint", values, hint=hint)


def group_event(
    event: Mapping[str, Any],
    fingerprint_rules: FingerprintRules | None,
    stacktrace_rules: StacktraceRules | None,
) -> tuple[Component, tuple[str, ...], str | None]:
    """Return the grouping tree, the effective fingerprint and the rule used.

    The fingerprint is ``("{{ default }}",)`` when neither a rule nor the SDK
    set one; the rule is described as ``"line N: <rule>"``.
    """
    rule = fingerprint_rules.match(event) if fingerprint_rules is not None else None
    if rule is not None:
        fingerprint = rule.fingerprint
        description: str | None = f"line {rule.line}: {rule}"
        hint = f"fingerprint rule on line {rule.line}"
    else:
        fingerprint = tuple(event.get("fingerprint") or ("{{ default }}",))
        description = None
        hint = "fingerprint sent by the SDK"
    if all(variable_name(entry) == "default" for entry in fingerprint):
        return default_component(event, stacktrace_rules), fingerprint, description
    return (
        fingerprint_component(fingerprint, event, stacktrace_rules, hint),
        fingerprint,
        description,
    )
