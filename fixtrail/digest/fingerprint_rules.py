"""Per-project fingerprint rules and stack-trace rules: parsing and matching.

Both are plain text edited on the project settings page, one rule per line;
blank lines and lines starting with ``#`` are ignored. A rule starts with one
or more matchers, all of which must match (they are ANDed)::

    # fingerprint rules: matchers -> fingerprint values, comma-separated
    error.type:ConnectionError -> connection-errors
    error.type:"Read Timeout*" tags.region:eu-* -> timeouts, {{ transaction }}
    !logger:django.* message:"*quota*" -> quota, {{ default }}
    stack.function:assert_* family:native -> assertions, {{ function }}

    # stack-trace rules: matchers, then actions
    stack.module:vendor.* -app
    stack.function:_assert* -group
    family:javascript stack.abs_path:**/node_modules/** -app -group
    stack.module:myapp.* +app

A matcher is ``[!]key:pattern``. The pattern is a glob (see
:mod:`fixtrail.lib.globs`: ``*``, ``?``, ``[...]``, case-insensitive); put it
in double quotes when it contains spaces (``\\"`` is a literal quote). A
leading ``!`` negates the matcher. Keys (short aliases in brackets):

- ``error.type`` [``type``], ``error.value`` [``value``],
  ``error.mechanism`` [``mechanism``]: one exception of the chain must match
  all error matchers of the rule;
- ``stack.module`` [``module``], ``stack.function`` [``function``],
  ``stack.abs_path`` [``path``] (the frame's ``abs_path`` or ``filename``),
  ``stack.package`` [``package``], ``app`` (``yes``/``no``): one frame of any
  stack trace of the event must match all frame matchers of the rule;
- ``message`` (the log message; for an event without one, any exception
  value), ``logger``, ``level``, ``tags.NAME`` (the event's tags and the
  derived ones: ``environment``, ``release``, ``server_name``,
  ``transaction``, ``level``, ``logger``), ``family`` (``native``,
  ``javascript`` or ``other``, from the platform).

A field the event lacks never matches (so its negation always does). Stack
trace rules accept only frame matchers and ``family``.

Fingerprint values may be a whole ``{{ variable }}``: ``default`` (the
built-in grouping), ``type``/``error.type``, ``value``/``error.value``,
``function``/``stack.function``, ``module``/``stack.module``,
``package``/``stack.package``, ``transaction``, ``level``, ``logger``,
``message``, ``platform``, ``tags.NAME``. Rules are tried in order and the
first match wins. Stack-trace rule actions are ``+app``/``-app`` (mark the
frame in-app or not) and ``+group``/``-group`` (force a frame into grouping
or keep it out); every matching rule applies in order, so later rules
override earlier ones.

A text that cannot be parsed raises :class:`RuleSyntaxError`, whose message
starts with ``line N:`` so the settings page can point at the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fixtrail.lib.globs import compile_glob

# Settings pages hold a few dozen rules; the bound keeps a pasted file from
# turning every event's grouping into thousands of matches.
MAX_RULES = 500
MAX_RULE_LINE_CHARS = 2000

NATIVE_PLATFORMS = frozenset({"native", "cocoa", "objc", "c", "cpp", "swift"})
JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})

_KEY_ALIASES = {
    "type": "error.type",
    "value": "error.value",
    "mechanism": "error.mechanism",
    "module": "stack.module",
    "function": "stack.function",
    "path": "stack.abs_path",
    "package": "stack.package",
}
_ERROR_KEYS = frozenset({"error.type", "error.value", "error.mechanism"})
_FRAME_KEYS = frozenset(
    {"stack.module", "stack.function", "stack.abs_path", "stack.package", "app"}
)
_EVENT_KEYS = frozenset({"message", "logger", "level", "family"})

VARIABLE_ALIASES = {
    "default": "default",
    "type": "type",
    "error.type": "type",
    "value": "value",
    "error.value": "value",
    "function": "function",
    "stack.function": "function",
    "module": "module",
    "stack.module": "module",
    "package": "package",
    "stack.package": "package",
    "transaction": "transaction",
    "level": "level",
    "logger": "logger",
    "message": "message",
    "platform": "platform",
}
_VARIABLE = re.compile(r"\{\{\s*([\w.\-]+)\s*\}\}")
_MATCHER = re.compile(r'(!?)([A-Za-z_][\w.\-]*):("(?:[^"\\]|\\.)*"|[^\s"]+)')
_ACTION = re.compile(r"([+-])(app|group)(?=\s|$)")
_TAG_NAME = re.compile(r"[\w.:\-]+")


class RuleSyntaxError(ValueError):
    """A rule text could not be parsed; the message starts with ``line N:``."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def platform_family(platform: str | None) -> str:
    """Return ``native``, ``javascript`` or ``other`` for an event platform."""
    if platform in NATIVE_PLATFORMS:
        return "native"
    if platform in JAVASCRIPT_PLATFORMS:
        return "javascript"
    return "other"


def variable_name(value: str) -> str | None:
    """Return the canonical variable of a ``{{ name }}`` fingerprint value.

    Returns None when ``value`` is not a variable at all; returns the name
    as written (``tags.X`` included) for names not in VARIABLE_ALIASES.
    """
    if not value.startswith("{{"):
        return None
    match = _VARIABLE.fullmatch(value)
    if match is None:
        return None
    name = match.group(1)
    return VARIABLE_ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One ``[!]key:pattern`` condition of a rule."""

    key: str
    pattern: str
    negated: bool

    def test(self, values: Iterable[str | None]) -> bool:
        """Return whether the matcher passes for a field with these values.

        The field matches when any of its values matches the pattern; a
        missing value (None) never matches. Negation inverts the result.
        """
        regex = compile_glob(self.pattern)
        for value in values:
            if value is not None and regex.fullmatch(value) is not None:
                return not self.negated
        return self.negated

    def __str__(self) -> str:
        pattern = self.pattern
        if not pattern or any(c.isspace() or c == '"' for c in pattern):
            pattern = '"' + pattern.replace('"', '\\"') + '"'
        return f"{'!' if self.negated else ''}{self.key}:{pattern}"


def _parse_matcher(match: re.Match[str], line: int, allowed: frozenset[str]) -> Matcher:
    negated, key, raw = match.groups()
    key = _KEY_ALIASES.get(key, key)
    # "tags." in ``allowed`` stands for every tags.NAME key.
    kind = "tags." if key.startswith("tags.") else key
    if kind not in allowed:
        raise RuleSyntaxError(line, f"unknown matcher {key!r}")
    if kind == "tags." and not _TAG_NAME.fullmatch(key[5:]):
        raise RuleSyntaxError(line, f"invalid tag name in {key!r}")
    pattern = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
    if not pattern:
        raise RuleSyntaxError(line, f"empty pattern for {key}")
    if key == "family" and pattern.lower() not in ("native", "javascript", "other"):
        raise RuleSyntaxError(
            line, f"unknown family {pattern!r} (use native, javascript or other)"
        )
    if key == "app" and pattern.lower() not in ("yes", "no", "true", "false"):
        raise RuleSyntaxError(line, f"app takes yes or no, not {pattern!r}")
    if key == "app":
        pattern = "yes" if pattern.lower() in ("yes", "true") else "no"
    return Matcher(key=key, pattern=pattern, negated=bool(negated))


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` wherever it is not inside double quotes."""
    parts = []
    start = 0
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and quoted:
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _has_unclosed_quote(line: str) -> bool:
    quoted = False
    escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
    return quoted


def _rule_lines(text: str) -> Iterable[tuple[int, str]]:
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_RULE_LINE_CHARS:
            raise RuleSyntaxError(
                number, f"rule is longer than {MAX_RULE_LINE_CHARS} characters"
            )
        count += 1
        if count > MAX_RULES:
            raise RuleSyntaxError(number, f"too many rules (at most {MAX_RULES})")
        if _has_unclosed_quote(line):
            raise RuleSyntaxError(number, "unclosed quote")
        yield number, line


def _parse_matchers(
    text: str, line: int, allowed: frozenset[str], *, stop_at_action: bool
) -> tuple[list[Matcher], int]:
    """Parse matchers from the start of ``text``; return them and the end."""
    matchers: list[Matcher] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        if stop_at_action and _ACTION.match(text, pos):
            break
        match = _MATCHER.match(text, pos)
        if match is None or (
            match.end() < len(text) and not text[match.end()].isspace()
        ):
            found = text[pos:].split(None, 1)[0]
            if found.startswith(("+", "-")) and stop_at_action:
                raise RuleSyntaxError(
                    line, f"unknown action {found!r} (use +app, -app, +group, -group)"
                )
            raise RuleSyntaxError(
                line, f"expected a matcher like error.type:Name, found {found!r}"
            )
        matchers.append(_parse_matcher(match, line, allowed))
        pos = match.end()
    if not matchers:
        raise RuleSyntaxError(line, "a rule needs at least one matcher")
    return matchers, pos


# -- fingerprint rules --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FingerprintRule:
    """One fingerprint rule: its matchers, the values it assigns, its line."""

    matchers: tuple[Matcher, ...]
    fingerprint: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        values = ", ".join(
            v if variable_name(v) or "," not in v else f'"{v}"'
            for v in self.fingerprint
        )
        return f"{' '.join(str(m) for m in self.matchers)} -> {values}"


@dataclass(frozen=True, slots=True)
class FingerprintRules:
    """A parsed fingerprint-rule text; ``match`` finds the rule for an event."""

    rules: tuple[FingerprintRule, ...] = ()

    def match(self, event: Mapping[str, Any]) -> FingerprintRule | None:
        """Return the first rule that matches the normalized ``event``."""
        if not self.rules:
            return None
        subject = MatchSubject(event)
        for rule in self.rules:
            if subject.matches(rule.matchers):
                return rule
        return None


def _parse_fingerprint_value(raw: str, line: int) -> str:
    value = raw.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1].replace('\\"', '"')
    elif '"' in value:
        raise RuleSyntaxError(line, f"stray quote in fingerprint value {value!r}")
    if not value:
        raise RuleSyntaxError(line, "empty fingerprint value")
    if "{{" in value or "}}" in value:
        name = variable_name(value)
        if name is None:
            raise RuleSyntaxError(
                line, f"a variable must be a whole value like {{{{ type }}}}: {value!r}"
            )
        if name not in VARIABLE_ALIASES.values() and not (
            name.startswith("tags.") and _TAG_NAME.fullmatch(name[5:])
        ):
            raise RuleSyntaxError(line, f"unknown variable {{{{ {name} }}}}")
        value = f"{{{{ {name} }}}}"
    return value


_FINGERPRINT_MATCHER_KEYS = _ERROR_KEYS | _FRAME_KEYS | _EVENT_KEYS | {"tags."}


def parse_fingerprint_rules(text: str) -> FingerprintRules:
    """Parse a fingerprint-rule text; raise RuleSyntaxError on the first error."""
    rules = []
    for number, line in _rule_lines(text):
        parts = _split_outside_quotes(line, "->")
        if len(parts) == 1:
            raise RuleSyntaxError(number, "missing '->' before the fingerprint")
        if len(parts) > 2:
            raise RuleSyntaxError(number, "more than one '->'")
        left, right = parts
        matchers, _ = _parse_matchers(
            left, number, _FINGERPRINT_MATCHER_KEYS, stop_at_action=False
        )
        if not right.strip():
            raise RuleSyntaxError(number, "missing fingerprint after '->'")
        values = tuple(
            _parse_fingerprint_value(v, number)
            for v in _split_outside_quotes(right, ",")
        )
        rules.append(
            FingerprintRule(matchers=tuple(matchers), fingerprint=values, line=number)
        )
    return FingerprintRules(rules=tuple(rules))


# -- stack-trace rules --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StacktraceRule:
    """One stack-trace rule: matchers, and the flags it sets on frames."""

    matchers: tuple[Matcher, ...]
    in_app: bool | None
    group: bool | None
    line: int

    def __str__(self) -> str:
        actions = []
        if self.in_app is not None:
            actions.append("+app" if self.in_app else "-app")
        if self.group is not None:
            actions.append("+group" if self.group else "-group")
        return f"{' '.join(str(m) for m in self.matchers)} {' '.join(actions)}"


@dataclass(frozen=True, slots=True)
class FrameVerdict:
    """What the stack-trace rules decided for one frame, and which lines did."""

    in_app: bool | None = None
    group: bool | None = None
    in_app_line: int | None = None
    group_line: int | None = None


NO_VERDICT = FrameVerdict()


@dataclass(frozen=True, slots=True)
class StacktraceRules:
    """A parsed stack-trace-rule text."""

    rules: tuple[StacktraceRule, ...] = ()
    # The rules a frame of each platform family can match, worked out on
    # first use: most built-in rules name a family, and testing all of them
    # on every frame cost digest more than the rest of grouping together.
    _by_family: dict[str, tuple[tuple[StacktraceRule, tuple[Matcher, ...]], ...]] = (
        field(default_factory=dict, compare=False, repr=False)
    )

    def for_family(
        self, family: str
    ) -> tuple[tuple[StacktraceRule, tuple[Matcher, ...]], ...]:
        """Return the rules whose ``family:`` matchers admit ``family``,
        each with its other matchers (the ones left to test on a frame)."""
        rules = self._by_family.get(family)
        if rules is None:
            rules = tuple(
                (
                    rule,
                    tuple(m for m in rule.matchers if m.key != "family"),
                )
                for rule in self.rules
                if all(m.test((family,)) for m in rule.matchers if m.key == "family")
            )
            self._by_family[family] = rules
        return rules

    def evaluate(self, frame: Mapping[str, Any], family: str) -> FrameVerdict:
        """Return the flags the rules set on ``frame`` (later rules win).

        ``app`` matchers see the frame's in-app flag as changed by earlier
        rules, so ``-app`` followed by ``app:no -group`` works as written.
        """
        rules = self.for_family(family)
        if not rules:
            return NO_VERDICT
        in_app = frame.get("in_app") is True
        verdict_app: bool | None = None
        group: bool | None = None
        app_line = group_line = None
        for rule, matchers in rules:
            if not _frame_matches(matchers, frame, family, in_app):
                continue
            if rule.in_app is not None:
                in_app = verdict_app = rule.in_app
                app_line = rule.line
            if rule.group is not None:
                group = rule.group
                group_line = rule.line
        if verdict_app is None and group is None:
            return NO_VERDICT
        return FrameVerdict(verdict_app, group, app_line, group_line)

    def apply_in_app(self, frames: list[dict[str, Any]], family: str) -> None:
        """Set ``in_app`` on each frame dict as the ``+app``/``-app`` rules say."""
        if not self.rules:
            return
        for frame in frames:
            verdict = self.evaluate(frame, family)
            if verdict.in_app is not None:
                frame["in_app"] = verdict.in_app


_STACK_MATCHER_KEYS = _FRAME_KEYS | {"family"}


def parse_stacktrace_rules(text: str) -> StacktraceRules:
    """Parse a stack-trace-rule text; raise RuleSyntaxError on the first error."""
    rules = []
    for number, line in _rule_lines(text):
        matchers, end = _parse_matchers(
            line, number, _STACK_MATCHER_KEYS, stop_at_action=True
        )
        in_app = group = None
        rest = line[end:].split()
        if not rest:
            raise RuleSyntaxError(
                number, "missing action (use +app, -app, +group, -group)"
            )
        for token in rest:
            action = _ACTION.fullmatch(token)
            if action is None:
                raise RuleSyntaxError(
                    number, f"unknown action {token!r} (use +app, -app, +group, -group)"
                )
            flag = action.group(1) == "+"
            if action.group(2) == "app":
                in_app = flag
            else:
                group = flag
        rules.append(
            StacktraceRule(
                matchers=tuple(matchers), in_app=in_app, group=group, line=number
            )
        )
    return StacktraceRules(rules=tuple(rules))


# -- matching -----------------------------------------------------------------


def _frame_field(key: str, frame: Mapping[str, Any], in_app: bool) -> tuple[Any, ...]:
    if key == "stack.module":
        return (frame.get("module"),)
    if key == "stack.function":
        return (frame.get("function"),)
    if key == "stack.abs_path":
        return (frame.get("abs_path"), frame.get("filename"))
    if key == "stack.package":
        return (frame.get("package"),)
    # "app"
    return ("yes" if in_app else "no",)


def _frame_matches(
    matchers: Iterable[Matcher], frame: Mapping[str, Any], family: str, in_app: bool
) -> bool:
    for matcher in matchers:
        if matcher.key == "family":
            values: tuple[Any, ...] = (family,)
        else:
            values = _frame_field(matcher.key, frame, in_app)
        if not matcher.test([v for v in values if isinstance(v, str)]):
            return False
    return True


def _event_frames(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    frames: list[Mapping[str, Any]] = []
    for exc in (event.get("exception") or {}).get("values") or ():
        frames.extend((exc.get("stacktrace") or {}).get("frames") or ())
    frames.extend((event.get("stacktrace") or {}).get("frames") or ())
    for thread in (event.get("threads") or {}).get("values") or ():
        frames.extend((thread.get("stacktrace") or {}).get("frames") or ())
    return frames


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class MatchSubject:
    """The fields of one normalized event that rule matchers look at."""

    __slots__ = ("event", "family", "tags", "exceptions", "_frames")

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.family = platform_family(event.get("platform"))
        self.tags = event_tag_lookup(event)
        self.exceptions: list[Mapping[str, Any]] = list(
            (event.get("exception") or {}).get("values") or ()
        )
        self._frames: list[Mapping[str, Any]] | None = None

    @property
    def frames(self) -> list[Mapping[str, Any]]:
        if self._frames is None:
            self._frames = _event_frames(self.event)
        return self._frames

    def matches(self, matchers: Iterable[Matcher]) -> bool:
        """Return True when all ``matchers`` hold for this event."""
        error_matchers = []
        frame_matchers = []
        for matcher in matchers:
            if matcher.key in _ERROR_KEYS:
                error_matchers.append(matcher)
            elif matcher.key in _FRAME_KEYS:
                frame_matchers.append(matcher)
            elif not matcher.test(self._event_values(matcher.key)):
                return False
        if error_matchers and not any(
            all(m.test(self._error_values(m.key, exc)) for m in error_matchers)
            for exc in self.exceptions or ({},)
        ):
            return False
        return not frame_matchers or any(
            _frame_matches(
                frame_matchers, frame, self.family, frame.get("in_app") is True
            )
            for frame in self.frames or ({},)
        )

    def _event_values(self, key: str) -> Iterable[str | None]:
        if key == "family":
            return (self.family,)
        if key.startswith("tags."):
            return (self.tags.get(key[5:]),)
        if key == "message":
            message = log_message(self.event)
            if message is not None:
                return (message,)
            return tuple(_str_or_none(exc.get("value")) for exc in self.exceptions)
        return (_str_or_none(self.event.get(key)),)

    @staticmethod
    def _error_values(key: str, exc: Mapping[str, Any]) -> tuple[str | None]:
        if key == "error.type":
            return (_str_or_none(exc.get("type")),)
        if key == "error.value":
            return (_str_or_none(exc.get("value")),)
        return (_str_or_none((exc.get("mechanism") or {}).get("type")),)


_DERIVED_TAG_FIELDS = (
    "environment",
    "release",
    "server_name",
    "transaction",
    "level",
    "logger",
)


def event_tag_lookup(event: Mapping[str, Any]) -> dict[str, str]:
    """Return the event's tags by name, plus derived ones the SDK did not set."""
    tags: dict[str, str] = {}
    for pair in event.get("tags") or ():
        tags[pair[0]] = pair[1]
    for name in _DERIVED_TAG_FIELDS:
        value = event.get(name)
        if isinstance(value, str) and name not in tags:
            tags[name] = value
    return tags


def log_message(event: Mapping[str, Any]) -> str | None:
    """Return the normalized event's formatted log message, if it has one."""
    logentry = event.get("logentry")
    if isinstance(logentry, Mapping):
        formatted = logentry.get("formatted")
        if isinstance(formatted, str):
            return formatted
    return None
