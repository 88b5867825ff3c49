"""Replace the variable parts of a message with placeholders.

Two messages produced by the same line of code usually differ only in the
values they carry. Replacing those values makes them equal::

    >>> parameterize("User 4711 (jane@example.com) not found after 2.5s")
    'User <int> (<email>) not found after <float>s'
    >>> parameterize("GET https://api.example.com/v1/x failed: 'timeout'")
    'GET <url> failed: <quoted>'

Placeholders, in the order they are tried at each position: ``<url>``,
``<email>``, ``<uuid>``, ``<date>`` (ISO 8601 dates and date-times),
``<time>`` (``12:30:05``), ``<ip>`` (IPv4 with an optional port, IPv6),
``<hex>`` (``0x1f`` and bare hexadecimal runs of 8 or more characters with
a digit and a letter), ``<quoted>`` (text in single or double quotes),
``<float>`` and ``<int>``.

Digits glued to letters (``utf8``, ``Python3``, ``h264``) are part of a
name and stay as they are; digits after ``_`` or ``-`` (``order_123``) count
as values.

Grouping version 1 hashes this function's output, so its output must never
change: improvements go into a new function used by a new grouping version.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Floods repeat the same few messages, so a small cache saves most of the
# regex work on a busy worker.
PARAMETERIZE_CACHE_SIZE = 8192
# Quoted values longer than this are more likely prose between two
# apostrophes than a value; the limit also bounds backtracking.
MAX_QUOTED_CHARS = 200

_PATTERN = re.compile(
    r"""
    (?P<url>\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'"<>]+)
  | (?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)
  | (?P<uuid>\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}
        -?[0-9a-fA-F]{12}\b)
  | (?P<date>\b\d{4}-\d{2}-\d{2}
        (?:[T\x20]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?
           (?:Z|[+-]\d{2}:?\d{2})?)?\b)
  | (?P<time>\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b)
  | (?P<ip>\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b
        | (?<![\w:.])(?=[0-9a-fA-F:]*\d)(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){7})
          (?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:]))
  | (?P<hex>\b0[xX][0-9a-fA-F]+\b
        | \b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b)
  | (?P<quoted>(?<!\w)'[^'\n]{1,QMAX}'(?!\w) | (?<!\w)"[^"\n]{1,QMAX}"(?!\w))
  | (?P<float>(?<![A-Za-z0-9.])\d+\.\d+(?![0-9.]))
  | (?P<int>(?<![A-Za-z0-9])\d+)
    """.replace("QMAX", str(MAX_QUOTED_CHARS)),
    re.VERBOSE,
)


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


@lru_cache(maxsize=PARAMETERIZE_CACHE_SIZE)
def parameterize(text: str) -> str:
    """Return ``text`` with numbers, ids, addresses and quoted values replaced.

    Pure and deterministic: the same text always gives the same result, which
    is what makes it safe to feed into a grouping hash.
    """
    return _PATTERN.sub(_placeholder, text)
