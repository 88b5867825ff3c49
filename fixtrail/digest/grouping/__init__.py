"""Decide which issue an event belongs to: the grouping hash and its reasons.

Pure functions over a normalized event (the ``data`` of
:func:`fixtrail.digest.normalize.normalize_event`): no ORM, no I/O. Each
project stores the grouping version it uses; a version never changes its
output once released (see ``v1.py``), so upgrading the code never splits
existing issues. Usage::

    rules = parse_fingerprint_rules(project.fingerprint_rules)   # once per project
    stack = parse_stacktrace_rules(project.stacktrace_rules)
    grouping = compute_grouping(
        normalized.data, version=project.grouping_version,
        fingerprint_rules=rules, stacktrace_rules=stack,
    )
    grouping.hash          # "3f2a…" (32 hex), the issue key within the project
    grouping.to_dict()     # what counted and why, to show on the event page
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fixtrail.digest.fingerprint_rules import FingerprintRules, StacktraceRules
from fixtrail.digest.grouping import v1, v2
from fixtrail.digest.grouping.components import Component

__all__ = [
    "GROUPING_VERSIONS",
    "LATEST_GROUPING_VERSION",
    "Component",
    "Grouping",
    "GroupingConfig",
    "UnknownGroupingVersion",
    "compute_grouping",
]

Strategy = Callable[
    [Mapping[str, Any], FingerprintRules | None, StacktraceRules | None],
    tuple[Component, tuple[str, ...], str | None],
]


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    """One released grouping algorithm."""

    version: int
    config_id: str
    description: str
    strategy: Strategy


GROUPING_VERSIONS: dict[int, GroupingConfig] = {
    1: GroupingConfig(
        version=1,
        config_id=v1.CONFIG_ID,
        description=(
            "Exception types and in-app frames (module, cleaned function, "
            "source line); parameterized values and log templates without a "
            "stack trace."
        ),
        strategy=v1.group_event,
    ),
    2: GroupingConfig(
        version=2,
        config_id=v2.CONFIG_ID,
        description=(
            "Version 1 plus built-in stack-trace rules: the same browser "
            "error is one issue in every browser (runtime frames, function "
            "prefixes and a file:// page's directory do not count), and "
            "native crashes group by their crashing application frames "
            "(abort, signal handlers, crash reporters and stripped code do "
            "not count)."
        ),
        strategy=v2.group_event,
    ),
}
LATEST_GROUPING_VERSION = max(GROUPING_VERSIONS)


class UnknownGroupingVersion(ValueError):
    """A project names a grouping version this code does not have."""


@dataclass(frozen=True, slots=True)
class Grouping:
    """The result of grouping one event.

    ``fingerprint`` is the effective fingerprint (``("{{ default }}",)`` for
    the built-in grouping); ``rule`` describes the project fingerprint rule
    that set it, if one did (``"line 3: error.type:Foo -> foo"``).
    """

    hash: str
    version: int
    fingerprint: tuple[str, ...]
    component: Component
    rule: str | None = None

    @property
    def config_id(self) -> str:
        return GROUPING_VERSIONS[self.version].config_id

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready explanation, to store next to the event."""
        return {
            "hash": self.hash,
            "version": self.version,
            "config_id": self.config_id,
            "fingerprint": list(self.fingerprint),
            "rule": self.rule,
            "component": self.component.to_dict(),
        }


def compute_grouping(
    event: Mapping[str, Any],
    *,
    version: int,
    fingerprint_rules: FingerprintRules | None = None,
    stacktrace_rules: StacktraceRules | None = None,
) -> Grouping:
    """Return the grouping of a normalized event under a grouping version.

    Raises UnknownGroupingVersion for a version not in GROUPING_VERSIONS.
    Deterministic: the same event, version and rules always give the same
    hash.
    """
    config = GROUPING_VERSIONS.get(version)
    if config is None:
        raise UnknownGroupingVersion(f"unknown grouping version {version!r}")
    component, fingerprint, rule = config.strategy(
        event, fingerprint_rules, stacktrace_rules
    )
    return Grouping(
        hash=component.hash(),
        version=version,
        fingerprint=fingerprint,
        component=component,
        rule=rule,
    )
