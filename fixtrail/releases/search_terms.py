"""The issue-search terms about code: ``commit:abc123`` and ``mr:!123``.
Parsing is pure; the conditions import Django when called.

An issue matches a commit or merge request that brought it in (its first
release contains the commit, or a commit of the merge request) or that
fixed it (it was resolved in that commit)::

    commit:3f2a9c1          a sha prefix, 4 to 64 hex digits
    mr:!123  mr:123         merge request 123 of any linked repository
    mr:acme/shop!123        of the repository named acme/shop
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Q

_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_NUMBER = re.compile(r"\d{1,9}")
_REPOSITORY = re.compile(r"[\w.\-/]{1,200}")


class TermError(ValueError):
    """A value the term cannot take, with the message to show."""


def check_commit(value: str) -> str:
    """Return a sha prefix, lower-cased; TermError otherwise."""
    if not _SHA.fullmatch(value):
        raise TermError(
            f'"commit:" takes a commit sha (4 to 64 hex digits), not "{value}".'
        )
    return value.lower()


def parse_merge_request(value: str) -> tuple[str, int]:
    """Return (repository name or "", number) of ``!123`` or
    ``group/project!123``; TermError otherwise."""
    repository, _, number = value.rpartition("!")
    if not _NUMBER.fullmatch(number) or (
        repository and not _REPOSITORY.fullmatch(repository)
    ):
        raise TermError(f'"mr:" takes !123 or group/project!123, not "{value}".')
    return repository, int(number)


def commit_condition(value: str) -> Q:
    """Issues brought in or fixed by the commit ``value`` (a sha prefix)."""
    from django.db.models import Exists, OuterRef, Q

    from fixtrail.releases.models import Release

    prefix = check_commit(value)
    brought = Release.objects.filter(
        organization_id=OuterRef("project__organization_id"),
        version=OuterRef("first_release"),
        release_commits__commit__sha__startswith=prefix,
    )
    return Q(Exists(brought)) | Q(resolved_in_commit__startswith=prefix)


def merge_request_condition(value: str) -> Q:
    """Issues brought in or fixed by a commit of the merge request."""
    from django.db.models import Exists, OuterRef, Q

    from fixtrail.releases.models import Commit, Release

    repository, number = parse_merge_request(value)
    of_mr = {"merge_request__number": number}
    if repository:
        of_mr["merge_request__repository__name__iexact"] = repository
    brought = Release.objects.filter(
        organization_id=OuterRef("project__organization_id"),
        version=OuterRef("first_release"),
        **{f"release_commits__commit__{k}": v for k, v in of_mr.items()},
    )
    fixed = Commit.objects.filter(
        repository__organization_id=OuterRef("project__organization_id"),
        sha=OuterRef("resolved_in_commit"),
        **of_mr,
    )
    return Q(Exists(brought)) | Q(Exists(fixed))
