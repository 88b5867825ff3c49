"""The one registry of features the usage report counts.

A feature is either counted where it is used (``count_use(name, org)``, one
line in the view or API function that does it) or derived from tables that
already record it. To add a feature: add a row to ``FEATURES`` and, for a
counted one, call ``count_use`` where it happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from fixtrail.usage.models import FeatureUse


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    # Return {organization id: uses} since a moment; None means the feature
    # is counted through count_use.
    derive: Callable[[dt.datetime], dict[int, int]] | None = None


def _saved_views(since: dt.datetime) -> dict[int, int]:
    from fixtrail.issues.models import SavedSearch

    rows = (
        SavedSearch.objects.filter(created_at__gte=since)
        .values("organization_id")
        .annotate(n=Count("id"))
    )
    return {r["organization_id"]: r["n"] for r in rows}


def _tickets(since: dt.datetime) -> dict[int, int]:
    from fixtrail.integrations.models import ExternalIssueLink

    rows = (
        ExternalIssueLink.objects.filter(
            created_at__gte=since,
            origin__in=[
                ExternalIssueLink.Origin.CREATED,
                ExternalIssueLink.Origin.RULE,
            ],
        )
        .values("issue__project__organization_id")
        .annotate(n=Count("id"))
    )
    return {r["issue__project__organization_id"]: r["n"] for r in rows}


def _alerts(since: dt.datetime) -> dict[int, int]:
    from fixtrail.alerts.models import AlertNotice

    rows = (
        AlertNotice.objects.filter(created_at__gte=since)
        .values("issue__project__organization_id")
        .annotate(n=Count("id"))
    )
    return {r["issue__project__organization_id"]: r["n"] for r in rows}


FEATURES: dict[str, Feature] = {
    f.name: f
    for f in [
        Feature("searches", "Issue searches"),
        Feature("saved_views", "Saved views created", derive=_saved_views),
        Feature("bulk_actions", "Bulk actions on issues"),
        Feature("tickets", "Tickets created from errors", derive=_tickets),
        Feature("alerts", "Alerts sent", derive=_alerts),
        Feature("review_inbox", "Review inbox opened"),
    ]
}


def count_use(name: str, organization, now: dt.datetime | None = None) -> None:
    """Add one use of feature ``name`` by ``organization`` today.

    Raises KeyError for a name missing from FEATURES, and ValueError for a
    derived feature: both are programming errors a test catches.
    """
    if FEATURES[name].derive is not None:
        raise ValueError(f"{name} is derived from its own table, not counted")
    day = (now or timezone.now()).date()
    key = {"feature": name, "organization": organization, "day": day}
    if FeatureUse.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        # A savepoint, so a lost race to create the row does not break the
        # caller's transaction.
        with transaction.atomic():
            FeatureUse.objects.create(**key, count=1)
    except IntegrityError:
        FeatureUse.objects.filter(**key).update(count=F("count") + 1)


def feature_use(since: dt.datetime) -> list[dict]:
    """Return each feature's uses and how many organizations used it."""
    counted = {
        r["feature"]: r
        for r in FeatureUse.objects.filter(day__gte=since.date())
        .values("feature")
        .annotate(uses=Sum("count"), organizations=Count("organization", distinct=True))
    }
    out = []
    for feature in FEATURES.values():
        if feature.derive is not None:
            per_org = feature.derive(since)
            uses, orgs = sum(per_org.values()), len(per_org)
        else:
            row = counted.get(feature.name, {})
            uses, orgs = row.get("uses", 0), row.get("organizations", 0)
        out.append(
            {
                "feature": feature.name,
                "label": feature.label,
                "uses": uses,
                "organizations": orgs,
            }
        )
    return out
