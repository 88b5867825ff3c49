"""Glob patterns, as typed by people on settings pages.

A pattern matches the whole text, ignoring case::

    *            any run of characters, "/" included (also the empty run)
    ?            exactly one character
    [abc] [a-z]  one character of the set; [!abc] or [^abc] one outside it
    \\*          a literal "*" (a backslash escapes the next character)

So ``*timeout*`` matches ``"Read timeout after 30s"`` and ``app@1.*``
matches ``"app@1.4.2"``. An unclosed ``[`` is taken literally.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Patterns come from a handful of project settings and are compiled once each;
# the cache only needs to hold every pattern of the busiest projects.
GLOB_CACHE_SIZE = 4096


def glob_to_regex(pattern: str) -> str:
    """Return the regular-expression source equivalent to ``pattern``."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            # Runs of stars mean the same as one star.
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 1 if i < n and pattern[i] in "!^" else i)
            if end == -1:
                out.append(re.escape(char))
                continue
            body = pattern[i:end]
            i = end + 1
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            # Inside a class only these characters are special to `re`.
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]" if body else "(?!)")
        else:
            out.append(re.escape(char))
    return "".join(out)


@lru_cache(maxsize=GLOB_CACHE_SIZE)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Return a compiled, case-insensitive, whole-text matcher for ``pattern``."""
    try:
        return re.compile(glob_to_regex(pattern), re.IGNORECASE | re.DOTALL)
    except re.error:
        # A class such as [z-a] is not a valid range; treat the whole pattern
        # literally rather than fail on text that came from a settings page.
        return re.compile(re.escape(pattern), re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """Return True when ``text`` matches ``pattern`` as a whole."""
    return compile_glob(pattern).fullmatch(text) is not None
