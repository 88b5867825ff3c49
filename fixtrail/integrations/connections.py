"""Connecting trackers: add one from its form's data, test it, remove it.

The UI, the API and ``fixtrail integration`` all go through these, with
the same per-tracker forms, so validation and naming are the same
everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from fixtrail.accounts.models import Organization, User
from fixtrail.integrations.base import TrackerError
from fixtrail.integrations.forms import first_error
from fixtrail.integrations.models import Integration, SyncCursor
from fixtrail.integrations.registry import TRACKERS, tracker
from fixtrail.issues.models import Activity
from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import enqueue
from fixtrail.projects.models import Project

CHECK_JOB = "integrations.check"
# The cursor the activity follower reads Activity rows with (sync.py).
ACTIVITY_CURSOR = "integrations.activity"


class IntegrationError(Exception):
    """A connection request that cannot be carried out, with the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _free_name(organization: Organization, wanted: str) -> str:
    taken = set(
        Integration.objects.filter(organization=organization).values_list(
            "name", flat=True
        )
    )
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def add_integration(
    organization: Organization, kind: str, data: dict, *, user: User | None
) -> Integration:
    """Connect a tracker of ``kind`` from form ``data``; return it.

    Without a ``name`` the integration is named after its kind ("gitlab",
    then "gitlab-2"). Raises IntegrationError for an unknown kind, invalid
    data, an unknown project or a name already taken. Nothing is called
    on the tracker here; ``check_integration`` does that.
    """
    if kind not in TRACKERS:
        raise IntegrationError(
            f"Unknown tracker {kind!r}: use one of {', '.join(TRACKERS)}."
        )
    form = tracker(kind).form(data)
    if not form.is_valid():
        raise IntegrationError(first_error(form))
    fields = form.cleaned_data
    project = None
    if fields["project"]:
        project = Project.objects.filter(
            organization=organization, slug=fields["project"]
        ).first()
        if project is None:
            raise IntegrationError(f"No project {fields['project']!r} here.")
    name = fields["name"]
    if (
        name
        and Integration.objects.filter(organization=organization, name=name).exists()
    ):
        raise IntegrationError(f"There is already an integration named {name!r}.")
    with transaction.atomic():
        integration = Integration.objects.create(
            organization=organization,
            project=project,
            kind=kind,
            name=name or _free_name(organization, kind),
            labels=fields["labels"],
            assignee=fields["assignee"].strip(),
            created_by=user,
            **form.integration_fields(),
        )
        # The follower starts from here: issues resolved before any tracker
        # was connected have no tickets to close.
        start = Activity.objects.aggregate(m=Max("pk"))["m"] or 0
        SyncCursor.objects.get_or_create(
            name=ACTIVITY_CURSOR, defaults={"position": start}
        )
    return integration


def check_integration(integration: Integration, now: dt.datetime) -> str:
    """Call the tracker with the stored credentials; return what was found.

    Records the outcome on the integration (``last_check_error`` empty when
    fine). Raises TrackerError with what is wrong: bad token, no access,
    unknown project or issue type.
    """
    try:
        found = tracker(integration.kind).client(integration).check()
    except TrackerError as exc:
        _record_check(integration, exc.message, now)
        raise
    _record_check(integration, "", now)
    return found


def _record_check(integration: Integration, error: str, now: dt.datetime) -> None:
    Integration.objects.filter(pk=integration.pk).update(
        last_check_error=error, last_checked_at=now
    )
    integration.last_check_error, integration.last_checked_at = error, now


def request_check(integration: Integration) -> Job:
    """Enqueue a connection test (pages and the API never wait on a
    tracker); the outcome lands on the integration."""
    return enqueue(
        CHECK_JOB,
        {"integration": integration.pk},
        key=f"check:{integration.pk}:{timezone.now().timestamp()}",
        owner=f"integration:{integration.pk}",
    )


def pending_check(integration: Integration) -> bool:
    """Whether a connection test is waiting or running."""
    return Job.objects.filter(
        owner=f"integration:{integration.pk}",
        kind=CHECK_JOB,
        state__in=[Job.State.PENDING, Job.State.RUNNING],
    ).exists()


def integration_row(integration: Integration) -> dict:
    """What pages, the API and the command line show of an integration:
    never its token or webhook secret."""
    return {
        "name": integration.name,
        "kind": integration.kind,
        "project": integration.project.slug if integration.project else None,
        "url": integration.base_url,
        "target": integration.target,
        "issue_type": integration.issue_type,
        "labels": integration.label_list(),
        "assignee": integration.assignee,
        "webhook_url": integration.webhook_url,
        "last_checked_at": integration.last_checked_at,
        "last_check_error": integration.last_check_error,
    }
