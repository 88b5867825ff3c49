"""Remove secrets from event data before it is stored.

Two kinds of secrets are removed, and each is replaced by ``"[Filtered]"``:

1. the value under any key whose name contains a sensitive word, whatever
   the value's type (``{"db_password": "x"}`` becomes
   ``{"db_password": "[Filtered]"}``); the words are DEFAULT_SENSITIVE_KEYS
   plus a project's own extra keys, compared ignoring case, with ``-`` read
   as ``_`` (so ``X-Api-Key`` matches ``api_key``);
2. inside any string: credit-card numbers (13 to 19 digits, optionally
   grouped by spaces or dashes, that start like a card and pass the Luhn
   check) and the values of ``sentry_key=`` / ``sentry_secret=`` query
   parameters.

Matching by substring is deliberately broad (``author`` contains ``auth``):
a filtered harmless value costs little, a leaked token costs a lot.

Dropping IP addresses is a separate per-project switch; the names it
applies to are listed here (IP_ADDRESS_HEADERS, IP_ADDRESS_ENV_KEYS) and
applied by :mod:`fixtrail.digest.normalize`, which walks the event once and
uses a :class:`Scrubber` as it goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FILTERED = "[Filtered]"

DEFAULT_SENSITIVE_KEYS = (
    "password",
    "passwd",
    "mysql_pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "auth",
    "credentials",
    "cookie",
    "session",
    "csrf",
    "private_key",
    "privatekey",
    "sentry_key",
    # A card's security code: short digits the card-number check never sees.
    "cvv",
    "cvc",
)

# Request headers that carry the end user's address through proxies.
IP_ADDRESS_HEADERS = frozenset(
    {
        "x-forwarded-for",
        "x-real-ip",
        "forwarded",
        "cf-connecting-ip",
        "true-client-ip",
        "x-client-ip",
    }
)
# CGI/WSGI environment keys that SDKs copy into request.env.
IP_ADDRESS_ENV_KEYS = frozenset(
    {"REMOTE_ADDR", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_CLIENT_IP"}
)

# Card numbers are 13 to 19 digits long (ISO/IEC 7812); shorter strings
# cannot hold one, which lets most strings skip the regex entirely.
MIN_CARD_DIGITS = 13
# Key names are few and repeat across events; past this many distinct names
# the cache is cleared rather than allowed to grow with hostile input.
KEY_CACHE_SIZE = 10_000

# Characters of texts the scrub cache keeps (about that many bytes for
# ASCII text), and the longest text it keeps: enough for a few thousand
# events' worth of source lines.
TEXT_CACHE_CHARS = 4_000_000
MAX_CACHED_TEXT_CHARS = 4_096

# Issuer prefixes start with 2 to 6 (Mastercard 2-series, Amex, Visa,
# Mastercard, Discover/UnionPay/Maestro); starting there keeps millisecond
# epoch timestamps ("17…", 13 digits) from being taken for cards.
# The leading digit comes before the look-behind so the regex engine can skip
# ahead to candidate digits (three times faster on typical strings).
_CARD = re.compile(r"[2-6](?<![\d-][2-6])(?:[ -]?\d){12,18}(?!\d)")
_SENTRY_QUERY_SECRET = re.compile(r"\b(sentry_(?:key|secret))=([^&\s#'\"]+)")


def _scrub_text(text: str) -> str:
    if _CARD.search(text) is not None:
        text = _CARD.sub(_filter_card, text)
    if "sentry_" in text:
        text = _SENTRY_QUERY_SECRET.sub(_filter_query_secret, text)
    return text


class TextCache:
    """The scrubbed form of texts seen lately, so each is scanned once.

    Events of one issue repeat most of their strings (source lines around
    every frame, messages, paths), and scanning them for card numbers is
    the costliest step of normalization. Scrubbing a text depends on
    nothing but the text, so one cache serves every project. Texts longer
    than MAX_CACHED_TEXT_CHARS are scanned each time; past ``budget``
    characters of cached texts, the cache starts afresh.
    """

    __slots__ = ("budget", "chars", "texts")

    def __init__(self, budget: int = TEXT_CACHE_CHARS) -> None:
        self.budget = budget
        self.chars = 0
        self.texts: dict[str, str | None] = {}

    def scrub(self, text: str) -> str:
        """Return scrub_text's answer for ``text``, from the cache if seen."""
        cleaned = self.texts.get(text, text)
        if cleaned is None:
            return text
        if cleaned is not text:
            return cleaned
        cleaned = _scrub_text(text)
        if len(text) <= MAX_CACHED_TEXT_CHARS:
            if self.chars + len(text) > self.budget:
                self.texts.clear()
                self.chars = 0
            # None stands for "unchanged": callers tell a filtered text
            # from a clean one by identity.
            self.texts[text] = None if cleaned is text else cleaned
            self.chars += len(text)
        return cleaned


def luhn_valid(digits: str) -> bool:
    """Return True when the string of digits passes the Luhn checksum."""
    total = 0
    double = False
    for char in reversed(digits):
        value = ord(char) - 48
        if double:
            value *= 2
            if value > 9:
                value -= 9
        total += value
        double = not double
    return total % 10 == 0


def _filter_card(match: re.Match[str]) -> str:
    text = match.group()
    digits = text.replace(" ", "").replace("-", "")
    return FILTERED if luhn_valid(digits) else text


def _filter_query_secret(match: re.Match[str]) -> str:
    return f"{match.group(1)}={FILTERED}"


def keys_from_text(text: str) -> tuple[str, ...]:
    """Return the key names of a settings text: one per line, ``#`` comments."""
    keys = []
    for line in text.splitlines():
        key = line.split("#", 1)[0].strip()
        if key:
            keys.append(key)
    return tuple(keys)


class Scrubber:
    """Decide which keys are sensitive and clean secrets out of strings.

    Build one per project configuration and reuse it: it caches its answers
    per key name in ``key_cache``, which hot loops may read directly (a
    missing key means "not asked yet": call ``is_sensitive_key``).
    """

    __slots__ = ("words", "key_cache")

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        words = list(DEFAULT_SENSITIVE_KEYS)
        for key in extra_keys:
            word = key.strip().lower().replace("-", "_")
            if word and word not in words:
                words.append(word)
        self.words = tuple(words)
        self.key_cache: dict[str, bool] = {}

    def is_sensitive_key(self, key: str) -> bool:
        """Return True when values stored under ``key`` must be filtered."""
        answer = self.key_cache.get(key)
        if answer is None:
            folded = key.lower().replace("-", "_")
            answer = any(word in folded for word in self.words)
            if len(self.key_cache) >= KEY_CACHE_SIZE:
                self.key_cache.clear()
            self.key_cache[key] = answer
        return answer

    def scrub_text(self, text: str) -> str:
        """Return ``text`` with card numbers and DSN keys replaced.

        Returns ``text`` itself (the same object) when nothing was replaced.
        """
        if len(text) < MIN_CARD_DIGITS:
            return text
        return _SCRUBBED_TEXTS.scrub(text)


# One per process: digest prepares batches in one thread at a time.
_SCRUBBED_TEXTS = TextCache()
