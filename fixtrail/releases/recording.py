"""Releases named by incoming events: digest records each (project,
release) pair of a batch, so a release exists as soon as an SDK reports
it, whether or not sentry-cli ever created it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from fixtrail.projects.models import Project
from fixtrail.releases.models import Release


def record_event_releases(pairs: Iterable[tuple[int, str]], now: dt.datetime) -> int:
    """Create the releases and project links of ``pairs`` (project id,
    version) that do not exist yet; return how many releases were created.

    Runs inside digest's batch transaction: three queries whatever the
    batch size, and nothing when every pair is already known.
    """
    pairs = {(p, v) for p, v in pairs if v}
    if not pairs:
        return 0
    orgs = dict(
        Project.objects.filter(pk__in={p for p, _ in pairs}).values_list(
            "pk", "organization_id"
        )
    )
    wanted = {(orgs[p], v) for p, v in pairs if p in orgs}
    versions = {v for _, v in wanted}
    known = {
        (r.organization_id, r.version): r
        for r in Release.objects.filter(
            organization_id__in={o for o, _ in wanted}, version__in=versions
        ).prefetch_related("projects")
    }
    missing = [
        Release(organization_id=o, version=v, created_at=now)
        for o, v in sorted(wanted - set(known))
    ]
    Release.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        known = {
            (r.organization_id, r.version): r
            for r in Release.objects.filter(
                organization_id__in={o for o, _ in wanted}, version__in=versions
            ).prefetch_related("projects")
        }
    links = []
    for project_id, version in pairs:
        release = known.get((orgs.get(project_id), version))
        if release is None:
            continue
        if project_id not in {p.pk for p in release.projects.all()}:
            links.append(
                Release.projects.through(release_id=release.pk, project_id=project_id)
            )
    Release.projects.through.objects.bulk_create(links, ignore_conflicts=True)
    return len(missing)
