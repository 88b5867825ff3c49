"""Grouping version 2 (config id ``fixtrail:2026-12-03``).

Changelog:

- 2 (2026-12-03): built-in stack-trace rules (BUILTIN_STACKTRACE_RULES)
  keep browser runtime frames and native crash machinery out of grouping;
  browser function names lose their engine-specific decorations; a page
  opened from ``file://`` groups by file name whatever directory it was in,
  apart from the same page served over ``http(s)``.

Everything else is version 1 (see ``v1.py`` for what counts and why), so a
project that upgrades changes only for the events these rules touch.

The same JavaScript error thrown in Chrome, Edge, Firefox and Safari::

    Chrome   Object.callback   file:///tmp/test.html
    Edge     callback          file://mac/Home/Desktop/test.html
    Firefox  callback          file:///private/tmp/test.html
    Safari   callback          file:///tmp/test.html

counts as ``file://…/test.html`` + ``callback`` in every browser. Chrome's
``Array.map (<anonymous>)``, Edge's ``native code`` and ``eval code``,
Safari's ``[native code]`` frames and every browser's ``eval`` frame do not
count; neither do anonymous functions (``Anonymous function``,
``<anonymous>``, Firefox's ``outer/<``). Function names count without
``new``, ``async``, receiver prefixes (``Object.``, ``Foo.prototype.``,
``Foo.``) and Firefox's ``outer/`` nesting.

Native crashes group by their crashing application frames: ``abort``,
``raise``, ``__pthread_kill`` and the rest of the abort path, signal
trampolines and handlers, crash reporters (Sentry, KSCrash, PLCrashReporter,
Breakpad, Crashpad, Crashlytics, Bugsnag) and ``stripped_application_code``
placeholders neither count nor make a frame in-app. A project's own
stack-trace rules apply after the built-in ones, so they can override them.
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
    parse_stacktrace_rules,
    platform_family,
    variable_name,
)
from fixtrail.digest.grouping import v1
from fixtrail.digest.grouping.components import Component
from fixtrail.lib.parameterize import parameterize

CONFIG_ID = "fixtrail:2026-12-03"

# The built-in stack-trace rules of this version, in the project rule
# language (fixtrail.digest.fingerprint_rules). Frozen with the version:
# a change is a new version.
BUILTIN_STACKTRACE_RULES_TEXT = r"""
# Browser runtime frames: built-ins called from the page, and eval.
family:javascript stack.abs_path:"<anonymous>" -app -group
family:javascript stack.abs_path:"\[native code\]" -app -group
family:javascript stack.abs_path:"native code" -app -group
family:javascript stack.abs_path:"eval code" -app -group
family:javascript stack.abs_path:"eval at *" -app -group
family:javascript stack.function:eval -app -group
# The browser SDK's wrapper around callbacks it instruments.
family:javascript stack.function:sentryWrapped -app -group
# Bundled dependencies are not the page's own code (browser SDKs mark every
# frame in-app).
family:javascript stack.abs_path:**/node_modules/** -app

# Native: the abort path below a failed check.
family:native stack.function:abort -app -group
family:native stack.function:__abort -app -group
family:native stack.function:_abort -app -group
family:native stack.function:__GI_abort -app -group
family:native stack.function:abort_with_payload -app -group
family:native stack.function:__abort_with_payload -app -group
family:native stack.function:abort_message -app -group
family:native stack.function:raise -app -group
family:native stack.function:__GI_raise -app -group
family:native stack.function:gsignal -app -group
family:native stack.function:__pthread_kill -app -group
family:native stack.function:pthread_kill -app -group
family:native stack.function:__pthread_kill_implementation -app -group
family:native stack.function:__pthread_kill_internal -app -group
family:native stack.function:__assert_rtn -app -group
family:native stack.function:__assert_fail -app -group
family:native stack.function:__assert_fail_base -app -group
family:native stack.function:__stack_chk_fail -app -group
family:native stack.function:std::terminate -app -group
family:native stack.function:std::__terminate -app -group
family:native stack.function:__cxa_throw -app -group
family:native stack.function:__cxa_rethrow -app -group
family:native stack.function:objc_exception_throw -app -group
family:native stack.function:objc_exception_rethrow -app -group
family:native stack.function:__gnu_cxx::__verbose_terminate_handler -app -group
family:native stack.function:demangling_terminate_handler -app -group
family:native stack.function:_objc_terminate -app -group
family:native stack.function:RaiseException -app -group
family:native stack.function:_CxxThrowException -app -group
family:native stack.function:CxxThrowException -app -group
family:native stack.function:RaiseFailFastException -app -group
family:native stack.function:__fastfail -app -group
family:native stack.function:_invoke_watson -app -group
family:native stack.function:_invalid_parameter* -app -group
family:native stack.function:std::sys::*::abort_internal -app -group
family:native stack.function:rust_panic -app -group
family:native stack.function:__rust_start_panic -app -group
family:native stack.function:__rustc::__rust_start_panic -app -group
family:native stack.function:std::panicking::* -app -group
family:native stack.function:core::panicking::* -app -group

# Native: signal trampolines and handlers.
family:native stack.function:_sigtramp -app -group
family:native stack.function:__sigtramp -app -group
family:native stack.function:__restore_rt -app -group
family:native stack.function:__kernel_rt_sigreturn -app -group
family:native stack.function:KiUserExceptionDispatcher -app -group
family:native stack.function:*signal_handler* -app -group
family:native stack.function:*SignalHandler* -app -group

# Native: crash reporters.
family:native stack.function:sentrycrash* -app -group
family:native stack.function:*SentryCrash* -app -group
family:native stack.function:sentry__* -app -group
family:native stack.function:kscrash* -app -group
family:native stack.function:*KSCrash* -app -group
family:native stack.function:plcrash* -app -group
family:native stack.function:*PLCrashReporter* -app -group
family:native stack.function:google_breakpad::* -app -group
family:native stack.function:crashpad::* -app -group
family:native stack.function:FIRCLS* -app -group
family:native stack.function:*Crashlytics* -app -group
family:native stack.function:bsg_* -app -group
family:native stack.function:*Bugsnag* -app -group
family:native stack.package:*Sentry.framework* -app -group
family:native stack.package:*Crashlytics* -app -group

# Native: placeholders for code the symbolicator could not name.
family:native stack.function:stripped_application_code -group
family:native stack.function:<stripped_application_code> -group
family:native stack.function:<redacted> -group
"""
BUILTIN_STACKTRACE_RULES = parse_stacktrace_rules(BUILTIN_STACKTRACE_RULES_TEXT)

NAME_CACHE_SIZE = 16384
# "new ", "async ", " [as name]", " (index 3)": engine decorations.
_JS_DECORATIONS = re.compile(r"^(?:async |new )+|\s*\[as [^\]]*\]|\s*\(index \d+\)")
_JS_ANONYMOUS = frozenset(
    {"", "?", "<anonymous>", "anonymous", "Anonymous function", "<unknown>"}
)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def clean_js_function(name: str) -> str:
    """Return a browser function name as every engine would agree on it;
    "" for an anonymous function.

    ``Object.callback`` -> ``callback``; ``Foo.prototype.testMethod`` ->
    ``testMethod``; ``new Foo`` -> ``Foo``; ``test/<`` (Firefox: an
    anonymous function inside ``test``) -> ""; ``test/inner`` -> ``inner``.
    """
    name = _JS_DECORATIONS.sub("", name.strip()).strip()
    if "/" in name:
        # Firefox names nested functions outer/inner, anonymous ones outer/<.
        name = name.rsplit("/", 1)[-1]
        if not name or name.startswith("<"):
            return ""
    if name in _JS_ANONYMOUS or name.endswith(".<anonymous>"):
        return ""
    return name.rsplit(".", 1)[-1]


def _js_location(frame: Mapping[str, Any]) -> str:
    path = frame.get("abs_path") or frame.get("filename") or ""
    base = v1.file_base_name(path) if path else ""
    # A page opened from disk: the directory depends on whose machine it
    # was, so only the file name counts; the scheme keeps it apart from the
    # same page served over http(s).
    if base and path.lower().startswith("file:"):
        return f"file://…/{base}"
    return base


def frame_component(frame: Mapping[str, Any], platform: str) -> Component:
    """Return the component of one frame (before in-app and rule checks)."""
    frame_platform = frame.get("platform") or platform
    if frame_platform != "javascript":
        return v1.frame_component(frame, platform)
    values: list[Component | str] = []
    location = _js_location(frame)
    if location:
        values.append(Component("filename", [location]))
    function = frame.get("function") or frame.get("raw_function")
    function_counts = False
    if function:
        cleaned = clean_js_function(function)
        if not cleaned:
            values.append(
                Component("function", [function[:80]]).exclude("anonymous function")
            )
        elif v1._is_minified_name(cleaned) and v1._looks_minified(
            frame, v1.file_base_name(frame.get("abs_path") or "")
        ):
            values.append(
                Component("function", [cleaned]).exclude("minified function name")
            )
        else:
            values.append(Component("function", [cleaned]))
            function_counts = True
    line_counts = False
    context_line = (frame.get("context_line") or "").strip()
    if context_line and not function_counts:
        # Only without a function name: a source line is what source maps
        # add, and browsers without them would split from those with.
        if (
            len(context_line) > v1.MAX_GROUPING_CONTEXT_LINE_CHARS
            or "{snip}" in context_line
        ):
            values.append(
                Component("context_line", [context_line[:40]]).exclude(
                    "source line too long (minified?)"
                )
            )
        else:
            values.append(Component("context_line", [context_line]))
            line_counts = True
    component = Component("frame", values)
    if not function_counts and not line_counts:
        component.exclude("no function name or source line")
    return component


def _verdicts(
    frame: Mapping[str, Any], family: str, rules: StacktraceRules | None
) -> tuple[FrameVerdict, bool]:
    """Return the combined verdict for a frame and whether the built-in
    rules decided its grouping flag (the project's rules win)."""
    builtin = BUILTIN_STACKTRACE_RULES.evaluate(frame, family)
    project = NO_VERDICT
    if rules is not None and rules.rules:
        seen = frame
        if builtin.in_app is not None:
            seen = {**frame, "in_app": builtin.in_app}
        project = rules.evaluate(seen, family)
    in_app = project.in_app if project.in_app is not None else builtin.in_app
    group = project.group if project.group is not None else builtin.group
    from_builtin = project.group is None and builtin.group is not None
    return (
        FrameVerdict(
            in_app=in_app,
            group=group,
            in_app_line=project.in_app_line or builtin.in_app_line,
            group_line=project.group_line
            if project.group is not None
            else (builtin.group_line),
        ),
        from_builtin,
    )


def _builtin_rule_text(line: int | None) -> str:
    for rule in BUILTIN_STACKTRACE_RULES.rules:
        if rule.line == line:
            return str(rule)
    return "?"


def stacktrace_component(
    frames: list[Mapping[str, Any]],
    platform: str,
    rules: StacktraceRules | None,
) -> Component:
    """Return the component of a stack trace, frames caller first."""
    family = platform_family(platform)
    decided = [_verdicts(frame, family, rules) for frame in frames]
    in_app = [
        v.in_app if v.in_app is not None else frame.get("in_app") is True
        for frame, (v, _) in zip(frames, decided, strict=True)
    ]
    only_in_app = any(in_app)
    components = []
    for frame, (verdict, builtin), app in zip(frames, decided, in_app, strict=True):
        component = frame_component(frame, platform)
        where = (
            f"built-in rule {_builtin_rule_text(verdict.group_line)}"
            if builtin
            else f"stack trace rule on line {verdict.group_line}"
        )
        if verdict.group is False:
            component.exclude(f"excluded by {where}")
        elif verdict.group is True:
            if component.contributes:
                component.hint = f"included by {where}"
        elif only_in_app and not app:
            component.exclude("not in app")
        components.append(component)
    v1._collapse_recursion(components)
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


def exception_chain_component(
    exceptions: list[Mapping[str, Any]], platform: str, rules: StacktraceRules | None
) -> Component:
    """Return the component of the whole chain, oldest cause first."""
    components = [exception_component(exc, platform, rules) for exc in exceptions]
    if len(components) > 1 and v1._is_exception_group(exceptions):
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


def default_component(
    event: Mapping[str, Any], rules: StacktraceRules | None
) -> Component:
    """Return the built-in grouping of a normalized event."""
    platform = event.get("platform") or "other"
    exceptions = (event.get("exception") or {}).get("values")
    if exceptions:
        return exception_chain_component(exceptions, platform, rules)
    message = v1.message_component(event)
    if message is not None:
        return message
    frames = v1._lone_stacktrace(event)
    if frames:
        return Component("threads", [stacktrace_component(frames, platform, rules)])
    return Component("fallback", ["<no exception, message or stack trace>"])


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
                Component("variable", [v1.expand_variable(name, event)], hint=entry)
            )
        else:
            values.append(Component("value", [entry]))
    return Component("fingerprint", values, hint=hint)


def group_event(
    event: Mapping[str, Any],
    fingerprint_rules: FingerprintRules | None,
    stacktrace_rules: StacktraceRules | None,
) -> tuple[Component, tuple[str, ...], str | None]:
    """Return the grouping tree, the effective fingerprint and the rule used
    (as :func:`fixtrail.digest.grouping.v1.group_event`)."""
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
