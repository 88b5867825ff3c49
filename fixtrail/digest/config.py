"""Per-project digest configuration: inbound filters, fingerprint and stack
trace rules, parsed once per batch from the project's settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fixtrail.digest.filters import (
    FilterSettings,
    build_filters,
)
from fixtrail.digest.fingerprint_rules import (
    FingerprintRules,
    RuleSyntaxError,
    StacktraceRules,
    parse_fingerprint_rules,
    parse_stacktrace_rules,
)
from fixtrail.digest.normalize import (
    NormalizeOptions,
)
from fixtrail.digest.scrub import keys_from_text
from fixtrail.projects.models import Project

logger = logging.getLogger(__name__)
# -- per-project configuration --------------------------------------------------


@dataclass
class ProjectConfig:
    """A project's settings turned into the objects digest uses, built once
    per project per batch."""

    project: Project
    options: NormalizeOptions
    fingerprint_rules: FingerprintRules
    filters: FilterSettings


def _parse_rules(project: Project) -> tuple[FingerprintRules, StacktraceRules]:
    # The settings page refuses rules that do not parse; a text that fails
    # here was stored some other way, and grouping without it beats not
    # storing events at all.
    try:
        fingerprint = parse_fingerprint_rules(project.fingerprint_rules)
    except RuleSyntaxError as exc:
        logger.warning("project %s: ignoring fingerprint rules: %s", project.pk, exc)
        fingerprint = FingerprintRules()
    try:
        stacktrace = parse_stacktrace_rules(project.stacktrace_rules)
    except RuleSyntaxError as exc:
        logger.warning("project %s: ignoring stack-trace rules: %s", project.pk, exc)
        stacktrace = StacktraceRules()
    return fingerprint, stacktrace


def project_config(project: Project) -> ProjectConfig:
    """Return the digest configuration of ``project``."""
    fingerprint, stacktrace = _parse_rules(project)
    options = NormalizeOptions(
        scrub_data=project.scrub_data,
        scrub_fields=keys_from_text(project.scrub_fields),
        scrub_ip_addresses=project.scrub_ip_addresses,
        stacktrace_rules=stacktrace,
    )
    return ProjectConfig(project, options, fingerprint, build_filters(project))
