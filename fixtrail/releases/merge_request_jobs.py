"""The jobs of merge requests: looking them up through the code host's
API, and writing the feedback notes (registered by ReleasesConfig.ready).

Provider errors become the runner's outcomes: a refusal (bad token, no
access, unknown project) fails the job at once with the host's reason as
its last error; a rate limit or an outage is retried, after the host's
Retry-After when it gave one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from fixtrail.jobs.registry import PermanentFailure, RetryLater, handler, periodic
from fixtrail.releases import feedback
from fixtrail.releases.merge_requests import LOOKUP_KIND, lookup_merge_requests
from fixtrail.releases.models import Deploy, MergeRequest, Repository
from fixtrail.releases.providers.base import ProviderError

# How often the sweep looks for deploys recorded without a feedback job.
SWEEP_SECONDS = 300


@contextmanager
def _provider_outcomes() -> Iterator[None]:
    try:
        yield
    except feedback.FeedbackError as exc:
        raise PermanentFailure(exc.message) from None
    except ProviderError as exc:
        if exc.permanent:
            raise PermanentFailure(exc.message) from None
        raise RetryLater(exc.message, getattr(exc, "retry_after", None)) from None


@handler(LOOKUP_KIND)
def run_lookup(payload: dict) -> dict:
    """Find the merge requests of a repository's commits."""
    repository = Repository.objects.filter(pk=payload.get("repository")).first()
    if repository is None:
        return {"skipped": "the repository was deleted"}
    with _provider_outcomes():
        return lookup_merge_requests(repository, list(payload.get("shas", [])))


@handler(feedback.DEPLOY_KIND)
def run_deploy_feedback(payload: dict) -> dict:
    """Queue the notes on the merge requests of a deploy's release."""
    deploy = (
        Deploy.objects.select_related("release")
        .filter(pk=payload.get("deploy"))
        .first()
    )
    if deploy is None:
        return {"skipped": "the deploy was deleted"}
    queued = feedback.request_release_feedback(deploy.release, deploy=deploy)
    return {
        "notes": [job.pk for job in queued.jobs],
        "skipped": [f"{mr}: {reason}" for mr, reason in queued.skipped],
    }


@handler(feedback.NOTE_KIND)
def run_note(payload: dict) -> dict:
    """Write or edit the feedback note on one merge request."""
    merge_request = (
        MergeRequest.objects.select_related("repository__organization")
        .filter(pk=payload.get("merge_request"))
        .first()
    )
    if merge_request is None:
        return {"skipped": "the merge request was deleted"}
    with _provider_outcomes():
        return feedback.write_merge_request_note(
            merge_request, str(payload.get("environment") or "")
        )


@periodic("releases.deploy_feedback_sweep", seconds=SWEEP_SECONDS)
def sweep_deploys(now: dt.datetime) -> int:
    """Schedule the feedback of deploys that have none."""
    return feedback.schedule_missed_deploys(now)
