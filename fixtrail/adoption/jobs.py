"""The import as a durable job, started from an organization's page.

The payload holds the source, the options and the token sealed with the
server's encryption keys; the token is removed from the payload as soon as
the job has finished, whether it succeeded or failed for good::

    {"url": "https://sentry.io", "org": "acme", "into": 7, "issues": true,
     "token": "<sealed>", "by": 3}
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from fixtrail.accounts.models import Organization, User
from fixtrail.adoption.sentry_api import SentryAPI, SourceError
from fixtrail.adoption.sentry_import import apply_organization, read_organization
from fixtrail.jobs.models import Job
from fixtrail.jobs.registry import PermanentFailure, handler
from fixtrail.jobs.runner import enqueue
from fixtrail.lib.sealing import seal, unseal

IMPORT = "adoption.import_sentry"


def job_owner(org: Organization) -> str:
    """The owner string of an organization's import jobs."""
    return f"adoption.org:{org.pk}"


def start_import(
    org: Organization, user: User, *, url: str, token: str, source_org: str,
    issues: bool,
) -> Job:  # fmt: skip
    """Enqueue an import of ``source_org`` at ``url`` into ``org``."""
    payload = {
        "url": url,
        "org": source_org,
        "into": org.pk,
        "issues": issues,
        "by": user.pk,
        "token": seal(token, settings.ENCRYPTION_KEYS),
    }
    with transaction.atomic():
        job = enqueue(IMPORT, payload, owner=job_owner(org))
        # The job's own key lets the handler find its row to drop the token.
        payload["job"] = job.pk
        Job.objects.filter(pk=job.pk).update(payload=payload)
    return job


@handler(IMPORT)
def run_import(payload: dict) -> dict:
    """Read the source and apply it; return the summary counts."""
    if "token" not in payload:
        raise PermanentFailure("the token was already removed; start again")
    org = Organization.objects.filter(pk=payload["into"]).first()
    if org is None:
        _forget_token(payload)
        raise PermanentFailure("the organization was deleted")
    api = SentryAPI(payload["url"], unseal(payload["token"], settings.ENCRYPTION_KEYS))
    try:
        source = read_organization(api, payload["org"], issues=payload["issues"])
    except SourceError as exc:
        if exc.status in (401, 403, 404):
            _forget_token(payload)
            raise PermanentFailure(exc.message) from None
        raise
    summary = apply_organization(
        source,
        issues=payload["issues"],
        into=org,
        invited_by=User.objects.filter(pk=payload["by"]).first(),
    )
    _forget_token(payload)
    return summary.as_dict()


def _forget_token(payload: dict) -> None:
    rest = {k: v for k, v in payload.items() if k != "token"}
    Job.objects.filter(pk=payload.get("job")).update(payload=rest)
