"""How alike two issues are, without a hosted service: MinHash signatures
over their stack traces and messages, and the LSH bands that find
candidates quickly. Pure functions over a normalized event (no ORM).

Each issue gets two signatures from its first event, one per feature (the
names are Sentry's similar-issues features)::

    exception:stacktrace:pairs            consecutive frame pairs of the
                                          raised exception's stack trace
                                          ("shop.cart:total|shop.tax:rate"),
                                          in-app frames when there are some
    exception:message:character-shingles  5-character shingles of the
                                          exception "Type: value" (or the
                                          log message), parameterized

A signature is SIGNATURE_SIZE minimum hashes; the share of positions where
two signatures agree estimates the Jaccard similarity of the two feature
sets. An issue's score against another is the mean over the features both
have. Each signature is cut into BANDS bands of ROWS hashes; issues sharing
a band are the candidates a lookup scores, so a lookup reads a handful of
index entries instead of every issue of the project. With 8 bands of 4
rows, two sets with Jaccard 0.5 share a band with probability
1 - (1 - 0.5^4)^8 ≈ 0.40, and at 0.8 with probability ≈ 0.98.

The hashes are fixed (BLAKE2b of each feature, one-permutation hashing),
so a signature computed today compares with one stored a year ago.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fixtrail.digest.fingerprint_rules import platform_family
from fixtrail.digest.grouping.v1 import clean_name, file_base_name
from fixtrail.lib.parameterize import parameterize

SIGNATURE_SIZE = 32
ROWS = 4
BANDS = SIGNATURE_SIZE // ROWS
SHINGLE_CHARS = 5
# Bounds on one event's features: frames and characters beyond these are
# deep recursion or huge messages, and add nothing to the comparison.
MAX_FRAMES = 200
MAX_MESSAGE_CHARS = 2000

FEATURES = ("exception:stacktrace:pairs", "exception:message:character-shingles")

_MASK = 0xFFFFFFFF
# Added per bin of distance when a bin borrows its right neighbour's value
# (an odd constant, so borrowed values differ from the neighbour's own).
_DENSIFY_STEP = 0x9E3779B1
_EMPTY = b""


def _frames(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    exceptions = (event.get("exception") or {}).get("values") or []
    frames: list[Mapping[str, Any]] = []
    if exceptions:
        frames = (exceptions[-1].get("stacktrace") or {}).get("frames") or []
    if not frames:
        frames = (event.get("stacktrace") or {}).get("frames") or []
    frames = frames[-MAX_FRAMES:]
    in_app = [f for f in frames if f.get("in_app") is True]
    return in_app or frames


def _frame_token(frame: Mapping[str, Any], family: str) -> str:
    module = frame.get("module")
    path = frame.get("filename") or frame.get("abs_path") or ""
    where = clean_name(module, family) if module else file_base_name(path)
    function = frame.get("function") or "?"
    return f"{where}:{clean_name(function, family)}"


def stack_features(event: Mapping[str, Any]) -> set[str]:
    """Return the frame pairs of the event's crashing stack trace (a single
    frame counts alone); empty without frames."""
    family = platform_family(event.get("platform"))
    tokens = [_frame_token(f, family) for f in _frames(event)]
    if len(tokens) == 1:
        return {tokens[0]}
    return {f"{a}|{b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def message_text(event: Mapping[str, Any]) -> str:
    """Return the parameterized ``Type: value`` of the raised exception, or
    the log message; "" without either."""
    exceptions = (event.get("exception") or {}).get("values") or []
    if exceptions:
        last = exceptions[-1]
        text = f"{last.get('type') or ''}: {last.get('value') or ''}".strip(": ")
    else:
        logentry = event.get("logentry") or {}
        text = logentry.get("formatted") or logentry.get("message") or ""
    if not isinstance(text, str):
        return ""
    return parameterize(text[:MAX_MESSAGE_CHARS])


def message_features(event: Mapping[str, Any]) -> set[str]:
    """Return the character shingles of :func:`message_text`."""
    text = message_text(event).lower()
    if len(text) <= SHINGLE_CHARS:
        return {text} if text else set()
    return {text[i : i + SHINGLE_CHARS] for i in range(len(text) - SHINGLE_CHARS + 1)}


def minhash(features: Iterable[str]) -> tuple[int, ...]:
    """Return the MinHash signature of a feature set; () for an empty set.

    One hash per feature (one-permutation hashing): its low bits choose one
    of SIGNATURE_SIZE bins, the rest is the value a bin keeps the minimum
    of. A bin no feature fell in takes the value of the next filled bin to
    its right, moved by its distance ("densification"), so two sets still
    agree there exactly when they agree on that bin. This costs one hash
    per feature instead of one per feature and position.
    """
    bins: list[int | None] = [None] * SIGNATURE_SIZE
    for feature in features:
        digest = hashlib.blake2b(
            feature.encode("utf-8", "surrogatepass"), digest_size=8
        ).digest()
        value = int.from_bytes(digest, "little")
        index, rest = value % SIGNATURE_SIZE, (value // SIGNATURE_SIZE) & _MASK
        current = bins[index]
        if current is None or rest < current:
            bins[index] = rest
    if all(b is None for b in bins):
        return ()
    out = []
    for index in range(SIGNATURE_SIZE):
        distance = 0
        value = bins[index]
        while value is None:
            distance += 1
            value = bins[(index + distance) % SIGNATURE_SIZE]
        out.append((value + distance * _DENSIFY_STEP) & _MASK)
    return tuple(out)


def pack(signature: tuple[int, ...]) -> bytes:
    """Return a signature as bytes, for storing (b"" for none)."""
    return struct.pack(f"<{len(signature)}I", *signature) if signature else _EMPTY


def unpack(data: bytes) -> tuple[int, ...]:
    """Return the signature stored by :func:`pack`."""
    return struct.unpack(f"<{len(data) // 4}I", data) if data else ()


@dataclass(frozen=True, slots=True)
class Signature:
    """An issue's signatures, one per feature (() when it has no such
    feature)."""

    stack: tuple[int, ...]
    message: tuple[int, ...]

    def band_keys(self) -> list[int]:
        """Return the LSH band keys: signed 63-bit integers, distinct per
        feature and band, to look up in one index."""
        keys = []
        for feature, signature in enumerate((self.stack, self.message)):
            for band in range(BANDS if signature else 0):
                rows = signature[band * ROWS : (band + 1) * ROWS]
                digest = zlib.crc32(struct.pack(f"<{ROWS}I", *rows))
                keys.append((feature * BANDS + band) << 32 | digest)
        return keys


def signature_of(event: Mapping[str, Any]) -> Signature:
    """Return the signatures of a normalized event."""
    return Signature(
        stack=minhash(stack_features(event)), message=minhash(message_features(event))
    )


def agreement(a: tuple[int, ...], b: tuple[int, ...]) -> float | None:
    """Return the share of equal positions (the Jaccard estimate), or None
    when either signature is missing."""
    if not a or not b:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def scores(a: Signature, b: Signature) -> dict[str, float | None]:
    """Return the per-feature similarity of two issues, by Sentry's names."""
    return {
        FEATURES[0]: agreement(a.stack, b.stack),
        FEATURES[1]: agreement(a.message, b.message),
    }


def overall(feature_scores: Mapping[str, float | None]) -> float:
    """Return the mean of the features both issues have (0 when none)."""
    present = [s for s in feature_scores.values() if s is not None]
    return sum(present) / len(present) if present else 0.0
