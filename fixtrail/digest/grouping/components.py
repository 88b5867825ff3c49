"""The tree a grouping strategy builds, and the hash computed from it.

Each grouping strategy returns a tree of components. A leaf holds the text
that goes into the hash; every node says whether it counts
(``contributes``) and, when the reason is not obvious, why (``hint``)::

    exception-chain
      exception
        type: "ZeroDivisionError"
        stacktrace
          frame                     hint="not in app", contributes=False
          frame
            module: "shop.pricing"
            function: "price"
            context_line: "return total / count"
        value: "division by zero"   hint="the stack trace counts instead",
                                    contributes=False

The hash is the MD5 of the contributing leaves in tree order, each written
as ``path:length:text`` with ``path`` the ids from the root (for example
``exception-chain/exception/type``). The encoding is part of every grouping
version's output: changing it would split every issue, so it never changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Component:
    """One node of a grouping tree.

    ``values`` holds child components and/or leaf strings. A node contributes
    only if it holds a leaf string or a contributing child, and a strategy may
    turn it off explicitly (with a hint saying why).
    """

    id: str
    values: list[Component | str] = field(default_factory=list)
    contributes: bool = True
    hint: str | None = None

    def __post_init__(self) -> None:
        if self.contributes:
            for value in self.values:
                if type(value) is str or value.contributes:  # type: ignore[union-attr]
                    break
            else:
                self.contributes = False

    def exclude(self, hint: str) -> Component:
        """Mark this component as not counting, for the reason given."""
        self.contributes = False
        self.hint = hint
        return self

    def leaves(self) -> list[tuple[str, str]]:
        """Return ``(path, text)`` for every contributing leaf, in order."""
        out: list[tuple[str, str]] = []
        if self.contributes:
            self._collect(self.id, out)
        return out

    def texts(self) -> tuple[str, ...]:
        """Return the text of every contributing leaf, in order."""
        out: list[str] = []
        if self.contributes:
            self._collect_texts(out)
        return tuple(out)

    def _collect_texts(self, out: list[str]) -> None:
        for value in self.values:
            if type(value) is str:
                out.append(value)  # type: ignore[arg-type]
            elif value.contributes:  # type: ignore[union-attr]
                value._collect_texts(out)  # type: ignore[union-attr]

    def _collect(self, path: str, out: list[tuple[str, str]]) -> None:
        # A plain recursive walk: nested generators cost a frame per level
        # for every leaf, and grouping runs for every event.
        for value in self.values:
            if type(value) is str:
                out.append((path, value))  # type: ignore[arg-type]
            elif value.contributes:  # type: ignore[union-attr]
                value._collect(f"{path}/{value.id}", out)  # type: ignore[union-attr]

    def hash(self) -> str:
        """Return the 32-hex-digit hash of the contributing leaves."""
        text = "".join(f"{path}:{len(leaf)}:{leaf}\n" for path, leaf in self.leaves())
        digest = hashlib.md5(
            text.encode("utf-8", "surrogatepass"), usedforsecurity=False
        )
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the tree as JSON-ready dicts, for showing why events group."""
        out: dict[str, Any] = {"id": self.id, "contributes": self.contributes}
        if self.hint:
            out["hint"] = self.hint
        out["values"] = [
            v.to_dict() if isinstance(v, Component) else v for v in self.values
        ]
        return out
