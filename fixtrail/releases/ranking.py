"""Rank the commits that may have introduced a crash. Pure functions.

A crash's frames name files three ways (``abs_path`` "/srv/app/cart.py",
``filename`` "app/cart.py", ``module`` "app.cart"); a commit names the
paths it changed, relative to its repository ("src/app/cart.py"). A frame
matches a path when the last path components agree; the more components
agree, the surer the match::

    frame /srv/app/cart.py   vs  src/app/cart.py   → 2 (app/cart.py)
    frame /srv/app/cart.py   vs  lib/cart.py       → 1 (cart.py)
    frame /srv/app/cart.py   vs  app/carts.py      → 0 (no match)

Commits are ordered by, in turn: blamed for the crashing line; the
innermost frame they touch (in-app frames first); how many path components
matched; how close their release is to the issue's first release (0 = that
release); newest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Frames considered per crash: the innermost ones carry the blame; a
# recursion a thousand frames deep must not cost a thousand matches.
MAX_FRAMES = 30


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame, as much of it as matching needs."""

    abs_path: str = ""
    filename: str = ""
    module: str = ""
    lineno: int | None = None
    in_app: bool | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A commit that may be a suspect."""

    key: str
    paths: tuple[str, ...]
    # 0 for the first release, 1 for the release before it, ...
    release_distance: int = 0
    authored_at: dt.datetime | None = None
    # True when blame says this commit last changed the crashing line.
    blamed: bool = False


@dataclass(frozen=True, slots=True)
class Suspicion:
    """Why a commit is suspected."""

    key: str
    # The changed path and the frame (index in ordered frames) it matched.
    path: str
    frame_index: int
    matched_components: int
    blamed: bool
    release_distance: int
    sort_key: tuple = field(compare=False, repr=False)


def _components(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p and p != "."]


def frame_paths(frame: Frame) -> list[list[str]]:
    """Return the path spellings of ``frame`` as lists of components."""
    spellings = []
    for text in (frame.abs_path, frame.filename):
        if text and "://" in text:
            # A URL (JavaScript): its path is what the repository holds.
            text = text.split("://", 1)[1].partition("/")[2]
        if text:
            spellings.append(_components(text))
    if frame.module and "/" not in frame.module and " " not in frame.module:
        # A Python module ("app.cart") is a file "app/cart.py".
        parts = frame.module.split(".")
        spellings.append([*parts[:-1], parts[-1] + ".py"])
    return [s for s in spellings if s]


def suffix_match(frame: Frame, path: str) -> int:
    """Return how many trailing components ``path`` shares with the best
    spelling of ``frame`` (0: not the same file)."""
    changed = _components(path)
    best = 0
    for spelling in frame_paths(frame):
        n = 0
        while (
            n < len(spelling)
            and n < len(changed)
            and spelling[-1 - n] == changed[-1 - n]
        ):
            n += 1
        best = max(best, n)
    return best


def ordered_frames(frames: Sequence[Frame]) -> list[Frame]:
    """Return the frames innermost first (SDKs send them outermost first),
    in-app frames before the others, at most MAX_FRAMES."""
    innermost = list(reversed(frames))
    in_app = [f for f in innermost if f.in_app]
    others = [f for f in innermost if not f.in_app]
    return (in_app + others)[:MAX_FRAMES]


def rank_suspects(
    frames: Sequence[Frame], candidates: Iterable[Candidate], limit: int = 3
) -> list[Suspicion]:
    """Return up to ``limit`` suspicions, most suspect first; a candidate
    that touches none of the frames' files is never a suspect (unless
    blamed)."""
    ordered = ordered_frames(frames)
    found = []
    for candidate in candidates:
        best: tuple | None = None
        for index, frame in enumerate(ordered):
            for path in candidate.paths:
                matched = suffix_match(frame, path)
                if matched and (best is None or (index, -matched) < best[:2]):
                    best = (index, -matched, path)
        if best is None and not candidate.blamed:
            continue
        index, neg_matched, path = best or (len(ordered), 0, "")
        stamp = candidate.authored_at.timestamp() if candidate.authored_at else 0.0
        sort_key = (
            not candidate.blamed,
            index,
            neg_matched,
            candidate.release_distance,
            -stamp,
            candidate.key,
        )
        found.append(
            Suspicion(
                key=candidate.key,
                path=path,
                frame_index=index,
                matched_components=-neg_matched,
                blamed=candidate.blamed,
                release_distance=candidate.release_distance,
                sort_key=sort_key,
            )
        )
    found.sort(key=lambda s: s.sort_key)
    return found[: max(limit, 0)]
