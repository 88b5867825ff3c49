"""Similar issues: storing each issue's signatures and finding the issues
most like one (the method is in fixtrail.issues.similarity).

Digest indexes new issues in its batch transaction (fixtrail.issues.arrivals);
``fixtrail similar reindex`` indexes issues that predate this feature. A
lookup reads the issue's band keys from one index, scores at most
MAX_CANDIDATES candidates in Python and loads the best few issues: a fixed
cost whatever the number of issues in the project (bench/similar.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from fixtrail.issues.models import Issue, IssueSignature, IssueSignatureBand
from fixtrail.issues.samples import first_event_data
from fixtrail.issues.similarity import (
    Signature,
    overall,
    pack,
    scores,
    signature_of,
    unpack,
)
from fixtrail.projects.models import Project

# Candidates scored per lookup: those sharing the most bands first. Enough
# for the page's list, bounded so a common stack trace cannot make a
# lookup read thousands of signatures.
MAX_CANDIDATES = 200
# The issue page lists this many; the API takes ``limit`` up to MAX_LIMIT.
PAGE_LIMIT = 5
MAX_LIMIT = 50
# Below this, issues share little more than a framework's frames.
MIN_SCORE = 0.3
# Issues indexed per transaction by the re-index command.
INDEX_BATCH = 500


@dataclass
class SimilarIssue:
    """An issue like another, with the overall and per-feature scores."""

    issue: Issue
    score: float
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def index_issues(
    issue_ids: Iterable[int],
    data: dict[int, tuple[int, dict[str, Any]]] | None = None,
) -> int:
    """Compute and store the signatures of ``issue_ids`` from each one's
    first stored event (replacing older ones); return how many were indexed.

    ``data`` is :func:`first_event_data` of the ids when the caller has it
    already. Issues without a readable event are skipped.
    """
    if data is None:
        data = first_event_data(issue_ids)
    rows, bands = [], []
    for issue_id, (project_id, event) in sorted(data.items()):
        signature = signature_of(event)
        rows.append(
            IssueSignature(
                issue_id=issue_id,
                project_id=project_id,
                stack=pack(signature.stack),
                message=pack(signature.message),
            )
        )
        bands += [
            IssueSignatureBand(project_id=project_id, key=key, issue_id=issue_id)
            for key in signature.band_keys()
        ]
    indexed = [row.issue_id for row in rows]
    IssueSignature.objects.filter(issue_id__in=indexed).delete()
    IssueSignatureBand.objects.filter(issue_id__in=indexed).delete()
    IssueSignature.objects.bulk_create(rows, batch_size=INDEX_BATCH)
    IssueSignatureBand.objects.bulk_create(bands, batch_size=INDEX_BATCH * 4)
    return len(rows)


def reindex_project(project: Project, *, missing_only: bool = True) -> int:
    """Index a project's issues (only those without signatures unless told
    otherwise), INDEX_BATCH per transaction; return how many."""
    from django.db import transaction

    issues = Issue.objects.filter(project=project)
    if missing_only:
        issues = issues.filter(signature__isnull=True)
    ids = list(issues.order_by("pk").values_list("pk", flat=True))
    total = 0
    for start in range(0, len(ids), INDEX_BATCH):
        with transaction.atomic():
            total += index_issues(ids[start : start + INDEX_BATCH])
    return total


def _signature(row: IssueSignature) -> Signature:
    return Signature(stack=unpack(bytes(row.stack)), message=unpack(bytes(row.message)))


def similar_issues(
    issue: Issue, *, limit: int = PAGE_LIMIT, min_score: float = MIN_SCORE
) -> list[SimilarIssue]:
    """Return up to ``limit`` issues of the same project most like ``issue``,
    best first, scoring at least ``min_score``; [] when it is not indexed.

    Three queries: the issue's signature, the candidates by shared bands
    (with their signatures), and the winning issues.
    """
    own = IssueSignature.objects.filter(issue_id=issue.pk).first()
    if own is None:
        return []
    mine = _signature(own)
    keys = mine.band_keys()
    if not keys:
        return []
    candidates = list(
        IssueSignatureBand.objects.filter(project_id=issue.project_id, key__in=keys)
        .exclude(issue_id=issue.pk)
        .values("issue_id")
        .annotate(shared=Count("id"))
        .order_by("-shared", "-issue_id")
        .values_list("issue_id", flat=True)[:MAX_CANDIDATES]
    )
    scored = []
    # Plain tuples, not model instances: a lookup reads up to
    # MAX_CANDIDATES rows and building instances was most of its time.
    for issue_id, stack, message in IssueSignature.objects.filter(
        issue_id__in=candidates
    ).values_list("issue_id", "stack", "message"):
        other = Signature(stack=unpack(bytes(stack)), message=unpack(bytes(message)))
        feature_scores = scores(mine, other)
        score = overall(feature_scores)
        if score >= min_score:
            scored.append((score, issue_id, feature_scores))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    scored = scored[:limit]
    issues = Issue.objects.select_related(
        "project", "assignee", "assignee_team"
    ).in_bulk([issue_id for _, issue_id, _ in scored])
    return [
        SimilarIssue(issues[issue_id], score, feature_scores)
        for score, issue_id, feature_scores in scored
        if issue_id in issues
    ]
