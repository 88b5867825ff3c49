"""Ownership rules and CODEOWNERS files: parsing and matching.

Pure functions over text and plain dicts (no ORM, no I/O). A project's
ownership rules use Sentry's syntax, one rule per line: a matcher, then one
or more owners. Blank lines and lines starting with ``#`` are ignored::

    path:src/payments/*         #payments
    module:shop.checkout.*      dana@example.org #checkout
    url:https://shop.example.com/cart*  #checkout
    tags.sku_class:enterprise   #enterprise
    codeowners:/src/auth/       @acme/identity

Matchers:

- ``path:`` a glob over the frame's ``filename`` and ``abs_path`` (``*``
  crosses ``/``, case is ignored). The frame's path is tried from each of
  its directories, so ``src/payments/*`` matches ``/app/src/payments/api.py``
  without knowing where the code was deployed.
- ``module:`` a glob over the frame's ``module`` (``shop.checkout.*``).
- ``url:`` a glob over the event's request URL.
- ``tags.KEY:`` a glob over the event's tag ``KEY``.
- ``codeowners:`` a CODEOWNERS pattern (below) over the frame's path.

Owners are ``user@example.org`` (a member's e-mail), ``#team`` (a team's
slug), or, in CODEOWNERS files, ``@org/team`` (the team ``team``) and
``@handle`` (the member whose e-mail starts with ``handle@``). Resolving
owners to people is the caller's job (:mod:`fixtrail.projects.owners`).

CODEOWNERS files (GitHub's and GitLab's) are converted into ``codeowners:``
rules by :func:`parse_codeowners`. Their patterns follow gitignore:

- ``/docs/`` is anchored at the repository root; a pattern with a ``/``
  before its end is anchored too (``src/auth``), one without matches at any
  depth (``*.js``, ``apps/``);
- ``*`` and ``?`` stop at ``/``; ``**`` crosses directories;
- a trailing ``/`` matches the directory and everything below it; a last
  component without wildcards matches a file or a whole directory
  (``src/auth``); one with wildcards matches files only (``docs/*`` matches
  ``docs/a.md``, not ``docs/build/b.md``);
- GitLab's ``[Section]`` headers (``^[Optional]``, ``[Section][2]``) may
  name default owners for the entries below them that name none; ``\\#``
  and ``\\ `` escape a hash and a space in a path.

Which rule wins: rules are tried against the event's crashing in-app frame
(the innermost in-app frame of the exception that was raised; the
innermost frame when none is in-app) and the event's URL and tags; the
**last** rule that matches wins, as in CODEOWNERS. Rules converted from a
CODEOWNERS file come before the project's own rules, so a project rule
overrides the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fixtrail.lib.globs import compile_glob

# A settings page holds dozens of rules; a big monorepo CODEOWNERS a few
# thousand lines. The bounds keep a pasted file from costing every new issue
# thousands of matches.
MAX_RULES = 2000
MAX_LINE_CHARS = 2000
MAX_OWNERS_PER_RULE = 50
# Frames tried per path: directories deeper than this are not real code.
MAX_PATH_DEPTH = 64
PATTERN_CACHE_SIZE = 4096

MATCHER_TYPES = ("path", "module", "url", "codeowners")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TEAM = re.compile(r"#[\w.\-]+")
_HANDLE = re.compile(r"@[\w.\-]+(?:/[\w.\-]+)?")
_TAG_KEY = re.compile(r"[\w.:\-]+")
_SECTION = re.compile(r"\^?\[([^\]]+)\](?:\[\d+\])?(.*)")
_URL_PREFIX = re.compile(r"^[a-z][a-z0-9+.\-]*://[^/]*", re.IGNORECASE)


class OwnershipSyntaxError(ValueError):
    """A rule text could not be parsed; the message starts with ``line N:``."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Owner:
    """An owner as written: ``kind`` is "user" (an e-mail), "team" (a slug)
    or "handle" (a CODEOWNERS ``@name``)."""

    kind: str
    identifier: str

    def __str__(self) -> str:
        if self.kind == "team":
            return f"#{self.identifier}"
        if self.kind == "handle":
            return f"@{self.identifier}"
        return self.identifier


@dataclass(frozen=True, slots=True)
class OwnershipRule:
    """One rule: what it matches, who owns what it matches, where it was.

    ``matcher`` is "path", "module", "url", "codeowners" or "tags.KEY";
    ``source`` is "rules" (the project's own) or "codeowners" (the file).
    """

    matcher: str
    pattern: str
    owners: tuple[Owner, ...]
    line: int
    source: str = "rules"

    def __str__(self) -> str:
        owners = " ".join(str(o) for o in self.owners)
        return f"{self.matcher}:{_quote(self.pattern)} {owners}".rstrip()

    def describe(self) -> str:
        """Return where the rule came from and the rule, for the issue page."""
        where = "CODEOWNERS" if self.source == "codeowners" else "ownership rules"
        return f"{where} line {self.line}: {self}"


def _quote(pattern: str) -> str:
    if any(c.isspace() for c in pattern):
        return '"' + pattern.replace('"', '\\"') + '"'
    return pattern


def parse_owner(token: str, line: int, *, handles: bool) -> Owner:
    """Return the owner ``token`` names; raise OwnershipSyntaxError if none."""
    if _TEAM.fullmatch(token):
        return Owner("team", token[1:].lower())
    if handles and _HANDLE.fullmatch(token):
        name = token[1:]
        if "/" in name:
            # @org/team: the team's slug is its last part.
            return Owner("team", name.rsplit("/", 1)[1].lower())
        return Owner("handle", name.lower())
    if _EMAIL.fullmatch(token):
        return Owner("user", token.lower())
    expected = "user@example.org, #team" + (", @org/team or @user" if handles else "")
    raise OwnershipSyntaxError(line, f"{token!r} is not an owner (use {expected})")


def _lines(text: str) -> Iterable[tuple[int, str]]:
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE_CHARS:
            raise OwnershipSyntaxError(
                number, f"line is longer than {MAX_LINE_CHARS} characters"
            )
        count += 1
        if count > MAX_RULES:
            raise OwnershipSyntaxError(number, f"too many rules (at most {MAX_RULES})")
        yield number, line


def _split_pattern(line: str, number: int) -> tuple[str, str]:
    """Split ``rest`` into a (possibly quoted) pattern and what follows."""
    if line.startswith('"'):
        end = 1
        while end < len(line):
            if line[end] == "\\":
                end += 2
                continue
            if line[end] == '"':
                return line[1:end].replace('\\"', '"'), line[end + 1 :]
            end += 1
        raise OwnershipSyntaxError(number, "unclosed quote")
    parts = line.split(None, 1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse_ownership_rules(text: str) -> tuple[OwnershipRule, ...]:
    """Parse a project's ownership rules; raise OwnershipSyntaxError on the
    first bad line."""
    rules = []
    for number, line in _lines(text):
        matcher, colon, rest = line.partition(":")
        matcher = matcher.strip()
        if not colon or not matcher or any(c.isspace() for c in matcher):
            raise OwnershipSyntaxError(
                number, "expected a matcher like path:src/* followed by owners"
            )
        if matcher.startswith("tags."):
            if not _TAG_KEY.fullmatch(matcher[5:]):
                raise OwnershipSyntaxError(number, f"invalid tag name in {matcher!r}")
        elif matcher not in MATCHER_TYPES:
            raise OwnershipSyntaxError(
                number,
                f"unknown matcher {matcher!r} "
                "(use path, module, url, codeowners or tags.NAME)",
            )
        pattern, owners_text = _split_pattern(rest.lstrip(), number)
        if not pattern:
            raise OwnershipSyntaxError(number, f"empty pattern after {matcher}:")
        tokens = owners_text.split()
        if not tokens:
            raise OwnershipSyntaxError(number, f"no owners for {matcher}:{pattern}")
        if len(tokens) > MAX_OWNERS_PER_RULE:
            raise OwnershipSyntaxError(
                number, f"too many owners (at most {MAX_OWNERS_PER_RULE})"
            )
        owners = tuple(
            parse_owner(token, number, handles=matcher == "codeowners")
            for token in tokens
        )
        rules.append(OwnershipRule(matcher, pattern, owners, number))
    return tuple(rules)


def _codeowners_tokens(line: str) -> list[str]:
    """Split a CODEOWNERS line on unescaped spaces, dropping a trailing
    comment; ``\\ `` and ``\\#`` stay in the path."""
    tokens: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in " #":
            current.append(line[i + 1])
            i += 2
            continue
        if char == "#" and (not current or line[i - 1].isspace()):
            break
        if char.isspace():
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        tokens.append("".join(current))
    return tokens


def parse_codeowners(text: str) -> tuple[OwnershipRule, ...]:
    """Parse a GitHub or GitLab CODEOWNERS file into ``codeowners:`` rules.

    An entry without owners is kept only when its GitLab section names
    default owners; on GitHub it means "nobody owns this" and is skipped.
    Raises OwnershipSyntaxError for an owner that is not one and for a
    pattern CODEOWNERS does not allow (``!negation``).
    """
    rules = []
    defaults: tuple[Owner, ...] = ()
    for number, line in _lines(text):
        section = _SECTION.fullmatch(line) if line[0] in "[^" else None
        if section is not None:
            defaults = tuple(
                parse_owner(token, number, handles=True)
                for token in _codeowners_tokens(section.group(2))
            )
            continue
        tokens = _codeowners_tokens(line)
        if not tokens:
            continue
        pattern, owner_tokens = tokens[0], tokens[1:]
        if pattern.startswith("!"):
            raise OwnershipSyntaxError(
                number, "CODEOWNERS does not support negated patterns (!)"
            )
        if len(owner_tokens) > MAX_OWNERS_PER_RULE:
            raise OwnershipSyntaxError(
                number, f"too many owners (at most {MAX_OWNERS_PER_RULE})"
            )
        owners = tuple(parse_owner(t, number, handles=True) for t in owner_tokens)
        owners = owners or defaults
        if owners:
            rules.append(
                OwnershipRule("codeowners", pattern, owners, number, "codeowners")
            )
    return tuple(rules)


# -- matching -----------------------------------------------------------------


@lru_cache(maxsize=PATTERN_CACHE_SIZE)
def codeowners_regex(pattern: str) -> re.Pattern[str]:
    """Return the regex of a CODEOWNERS pattern over a repository path
    (no leading slash), following the rules in this module's docstring."""
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("(?:/.*)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    last = body.rsplit("/", 1)[-1]
    if directory:
        tail = "/.*"
    elif any(c in last for c in "*?"):
        tail = ""
    else:
        tail = "(?:/.*)?"
    head = "" if anchored else "(?:.*/)?"
    return re.compile(f"{head}{''.join(out)}{tail}", re.DOTALL)


def path_suffixes(path: str) -> list[str]:
    """Return a frame path relative to each of its directories, longest
    first, without URL scheme and host, ``./`` or drive letters:
    ``/app/src/a.py`` -> ``["app/src/a.py", "src/a.py", "a.py"]``."""
    path = path.replace("\\", "/")
    path = _URL_PREFIX.sub("", path)
    path = path.split("?", 1)[0].split("#", 1)[0]
    if len(path) > 1 and path[1] == ":":
        path = path[2:]
    parts = [p for p in path.split("/") if p not in ("", ".", "~")]
    parts = parts[-MAX_PATH_DEPTH:]
    return ["/".join(parts[i:]) for i in range(len(parts))]


@dataclass(frozen=True, slots=True)
class OwnershipSubject:
    """What ownership rules look at in one event."""

    paths: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    url: str | None = None
    tags: Mapping[str, str] | None = None


def crashing_frame(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the innermost in-app frame of the exception that was raised
    (else of the event's stack trace or crashed thread); the innermost
    frame when none is in-app; None without frames."""
    frames: list[Mapping[str, Any]] = []
    exceptions = (event.get("exception") or {}).get("values") or []
    if exceptions:
        frames = (exceptions[-1].get("stacktrace") or {}).get("frames") or []
    if not frames:
        frames = (event.get("stacktrace") or {}).get("frames") or []
    if not frames:
        for thread in (event.get("threads") or {}).get("values") or ():
            if thread.get("crashed") is True:
                frames = (thread.get("stacktrace") or {}).get("frames") or []
    if not frames:
        return None
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            return frame
    return frames[-1]


def subject_of(event: Mapping[str, Any]) -> OwnershipSubject:
    """Return what ownership rules see of a normalized event."""
    frame = crashing_frame(event) or {}
    paths = tuple(
        p
        for p in (frame.get("filename"), frame.get("abs_path"))
        if isinstance(p, str) and p
    )
    module = frame.get("module")
    request = event.get("request") or {}
    url = request.get("url") if isinstance(request, Mapping) else None
    tags: dict[str, str] = {}
    for pair in event.get("tags") or ():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            tags[str(pair[0])] = str(pair[1])
        elif isinstance(pair, str) and isinstance(event["tags"], Mapping):
            tags[pair] = str(event["tags"][pair])
    return OwnershipSubject(
        paths=paths,
        modules=(module,) if isinstance(module, str) and module else (),
        url=url if isinstance(url, str) else None,
        tags=tags,
    )


def rule_matches(rule: OwnershipRule, subject: OwnershipSubject) -> bool:
    """Return whether ``rule`` matches ``subject``."""
    if rule.matcher == "path":
        regex = compile_glob(rule.pattern.lstrip("/"))
        return any(
            regex.fullmatch(suffix)
            for path in subject.paths
            for suffix in path_suffixes(path)
        )
    if rule.matcher == "codeowners":
        regex = codeowners_regex(rule.pattern)
        return any(
            regex.fullmatch(suffix)
            for path in subject.paths
            for suffix in path_suffixes(path)
        )
    if rule.matcher == "module":
        regex = compile_glob(rule.pattern)
        return any(regex.fullmatch(m) for m in subject.modules)
    if rule.matcher == "url":
        return subject.url is not None and bool(
            compile_glob(rule.pattern).fullmatch(subject.url)
        )
    # tags.KEY
    value = (subject.tags or {}).get(rule.matcher[5:])
    return value is not None and bool(compile_glob(rule.pattern).fullmatch(value))


def match_owner_rule(
    rules: Iterable[OwnershipRule], event: Mapping[str, Any]
) -> OwnershipRule | None:
    """Return the rule that owns a normalized event: the last that matches."""
    subject = subject_of(event)
    winner = None
    for rule in rules:
        if rule_matches(rule, subject):
            winner = rule
    return winner
