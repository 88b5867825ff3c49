"""What Fixtrail needs from a code host, whichever it is.

    provider = provider_for(repository)
    commits = provider.commits_between("v1.0", "v1.1")   # newest first
    mrs = provider.merge_requests_of(commits[0].sha)
    note_id = provider.upsert_note(mrs[0].number, "body", note_id="")

Providers call outside services through fixtrail.lib.outbound and raise
ProviderError (with ``permanent`` when retrying cannot help: bad token,
unknown project); they are used from jobs, never inside a web request
that waits on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fixtrail.releases.models import Repository


class ProviderError(Exception):
    """A code host refused or failed a request."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass
class CommitInfo:
    sha: str
    message: str = ""
    author_name: str = ""
    author_email: str = ""
    authored_at: dt.datetime | None = None
    # (path, change) with change "A", "M" or "D".
    files: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MergeRequestInfo:
    number: int
    title: str = ""
    author: str = ""
    url: str = ""
    merged_at: dt.datetime | None = None


class Provider(Protocol):
    def commits_between(self, start: str | None, end: str) -> list[CommitInfo]:
        """Return the commits after ``start`` up to ``end``, newest first,
        with their changed files (all of ``end``'s history when ``start``
        is None, bounded by the provider)."""
        ...

    def merge_requests_of(self, sha: str) -> list[MergeRequestInfo]:
        """Return the merge requests that brought commit ``sha`` in."""
        ...

    def upsert_note(self, number: int, body: str, note_id: str = "") -> str:
        """Write ``body`` on merge request ``number`` (edit note ``note_id``
        when given and still there) and return the note's id."""
        ...


_PROVIDERS: dict[str, Callable[[Repository], Provider]] = {}


def register(name: str) -> Callable:
    """Register the decorated class as the provider for ``name``."""

    def decorate(cls: Callable[[Repository], Provider]) -> Callable:
        _PROVIDERS[name] = cls
        return cls

    return decorate


def provider_for(repository: Repository) -> Provider:
    """Return the provider client for ``repository``."""
    # Each provider module registers itself on import: "gitlab" is
    # fixtrail.releases.providers.gitlab, and so on.
    if repository.provider not in _PROVIDERS:
        import_module(f"fixtrail.releases.providers.{repository.provider}")
    try:
        return _PROVIDERS[repository.provider](repository)
    except KeyError:
        raise ProviderError(
            f"no provider for {repository.provider!r}", permanent=True
        ) from None
