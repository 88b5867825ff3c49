"""Shared set-up of the merge-request feedback tests (holds no tests)."""

from __future__ import annotations

import datetime as dt

from fixtrail.accounts.models import Organization
from fixtrail.issues.actions import resolve_issues
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project
from fixtrail.releases.models import Release, Repository
from tests.builders import make_commit, make_merge_request, make_release
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

HOUR = dt.timedelta(hours=1)
SHA_7 = "a" * 40
SHA_8 = "b" * 40


def add_events(
    project: Project, moment: dt.datetime, release: str, count: int = 1, **fields
) -> None:
    """Send ``count`` events of one error in ``release`` through the real
    queue and digest, at ``moment``."""
    fields.setdefault("environment", "production")
    payloads = [python_error(release=release, **fields) for _ in range(count)]
    queue_payloads(project, payloads, received_at=moment)
    digest_queued(now=moment)


def seed_release(
    org: Organization, project: Project, repository: Repository
) -> Release:
    """Make release 2.0 holding merge requests !7 (commit SHA_7) and !8
    (SHA_8), after release 1.0.

    In 2.0, KeyError is new (3 events) and ValueError, first seen in 1.0
    and resolved since, regressed; ZeroDivisionError stayed in 1.0.
    """
    make_release(org, "1.0", [project])
    release = make_release(org, "2.0", [project])
    for number, sha in ((7, SHA_7), (8, SHA_8)):
        mr = make_merge_request(repository, number, title=f"Change {number}")
        make_commit(repository, sha, release=release, merge_request=mr)
    add_events(project, T0, "1.0", function="parse_quantity")
    add_events(project, T0, "1.0", type_="ZeroDivisionError", function="average")
    resolve_issues(
        Issue.objects.filter(type="ValueError"), user=None, how="now", now=T0 + HOUR
    )
    add_events(project, T0 + 2 * HOUR, "2.0", function="parse_quantity")
    add_events(project, T0 + 2 * HOUR, "2.0", 3, type_="KeyError", function="lookup")
    return release
