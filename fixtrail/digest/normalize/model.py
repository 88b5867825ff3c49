"""What normalization takes and gives: its options, its result, and the
state of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fixtrail.digest.fingerprint_rules import StacktraceRules
from fixtrail.digest.normalize.limits import (
    BagLimits,
)
from fixtrail.digest.scrub import (
    Scrubber,
)


class InvalidEvent(ValueError):
    """The payload is not an event: its top level is not a JSON object."""


@dataclass(frozen=True)
class NormalizeOptions:
    """Per-project choices that change what normalization keeps.

    ``scrub_data`` filters secrets (see :mod:`fixtrail.digest.scrub`), with
    ``scrub_fields`` as extra sensitive key words; ``scrub_ip_addresses``
    drops the user's IP address wherever it appears; ``stacktrace_rules``
    (parsed) set frames' ``in_app``. Build one per project configuration and
    reuse it across a batch: it holds a :class:`Scrubber`, whose key cache
    warms up over the batch.
    """

    scrub_data: bool = True
    scrub_fields: tuple[str, ...] = ()
    scrub_ip_addresses: bool = False
    stacktrace_rules: StacktraceRules | None = None
    # Uploaded artifacts this batch's events may use (an object with
    # ``apply(data)``: fixtrail.symbols.symbolicate.SymbolLookup).
    symbols: Any = field(default=None, repr=False, compare=False)
    scrubber: Scrubber | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scrubber = Scrubber(self.scrub_fields) if self.scrub_data else None
        object.__setattr__(self, "scrubber", scrubber)


DEFAULT_OPTIONS = NormalizeOptions()


@dataclass(slots=True)
class NormalizedEvent:
    """A normalized event: the clean ``data`` and the fields derived from it.

    ``user_ip`` is the end user's address as sent, kept in memory for the
    inbound filters even when the project drops IP addresses; it is never in
    ``data`` in that case and must not be stored.
    """

    data: dict[str, Any]
    notes: list[str]
    event_id: str
    timestamp: float
    received_at: float
    platform: str
    level: str
    title: str
    culprit: str
    type: str
    value: str
    message: str
    logger: str | None
    transaction: str | None
    release: str | None
    environment: str | None
    server_name: str | None
    user_key: str | None
    user_ip: str | None
    handled: bool | None
    tags: list[tuple[str, str]]
    search_text: str


class _State:
    """What one normalization run carries around: notes and privacy switches."""

    __slots__ = ("notes", "scrubber", "drop_ips")

    def __init__(self, options: NormalizeOptions) -> None:
        self.notes: list[str] = []
        self.scrubber = options.scrubber
        self.drop_ips = options.scrub_ip_addresses


class _Tally:
    """Counts what a walk over one free-form value trimmed or filtered."""

    __slots__ = ("shortened", "dropped", "cut", "filtered", "coerced")

    def __init__(self) -> None:
        self.shortened = self.dropped = self.cut = self.filtered = self.coerced = 0

    def report(self, path: str, limits: BagLimits, state: _State) -> None:
        parts = []
        if self.shortened:
            parts.append(f"{self.shortened} long strings shortened")
        if self.dropped:
            parts.append(f"{self.dropped} items over {limits.max_items} dropped")
        if self.cut:
            parts.append(f"{self.cut} values nested deeper than {limits.max_depth} cut")
        if self.coerced:
            parts.append(f"{self.coerced} values converted")
        if parts:
            state.notes.append(f"{path}: trimmed ({', '.join(parts)})")
        if self.filtered:
            state.notes.append(f"{path}: {self.filtered} values filtered")
