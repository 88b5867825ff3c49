"""Run side by side: every envelope a project accepts is also sent, unchanged,
to another Sentry-compatible server (Sentry during a trial, or Fixtrail
while Sentry stays the main one).

The path, with nothing outbound in the request::

    ingest   queues one ``forward`` item with the envelope as received
             (decompressed), or a ``skipped`` note when it is larger than
             FIXTRAIL_FORWARD_MAX_BYTES
    digest   keeps the envelopes as ForwardEnvelope rows (one per checksum,
             so a redelivered message is not sent twice) and enqueues one
             job per project and batch
    job      POSTs each envelope to the DSN's envelope endpoint; 429, 5xx
             and no answer are retried (Retry-After honoured through the
             job's backoff), other 4xx are refused for good and counted

The Forwarding row counts what was forwarded, refused and skipped, and
keeps the last error, for the settings page, the API and the command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fixtrail.adoption.models import ForwardEnvelope, Forwarding
from fixtrail.core import upserts
from fixtrail.jobs.registry import RetryLater, handler
from fixtrail.jobs.runner import enqueue
from fixtrail.lib import outbound
from fixtrail.lib.dsn import DSN, DSNError, parse_dsn
from fixtrail.projects.models import Project

FORWARD = "adoption.forward"
# Longest error text kept (a server's error page can be long).
MAX_ERROR_CHARS = 500
# What forwarded requests say they are, as SDKs name themselves.
CLIENT = "fixtrail-forward/1"


def auth_header(target: DSN) -> str:
    """The X-Sentry-Auth header an SDK would send to ``target``."""
    return (
        f"Sentry sentry_version=7, sentry_key={target.public_key}, "
        f"sentry_client={CLIENT}"
    )


def set_forwarding(project: Project, dsn: str) -> Forwarding:
    """Forward ``project``'s envelopes to ``dsn`` from now on (checked first)."""
    parse_dsn(dsn)
    forwarding, _ = Forwarding.objects.update_or_create(
        project=project, defaults={"dsn": dsn.strip(), "is_active": True}
    )
    return forwarding


def stop_forwarding(project: Project) -> bool:
    """Stop forwarding; return whether it was on. Envelopes already waiting
    are dropped with it."""
    with transaction.atomic():
        ForwardEnvelope.objects.filter(project=project).delete()
        return Forwarding.objects.filter(project=project).delete()[0] > 0


def status(project: Project) -> dict[str, Any] | None:
    """Return what the settings page, the API and the CLI show, or None
    when the project does not forward."""
    forwarding = Forwarding.objects.filter(project=project).first()
    if forwarding is None:
        return None
    try:
        target = parse_dsn(forwarding.dsn).display
    except DSNError:
        target = ""
    return {
        "to": target,
        "active": forwarding.is_active,
        "forwarded": forwarding.forwarded,
        "failed": forwarding.failed,
        "skipped": forwarding.skipped,
        "waiting": ForwardEnvelope.objects.filter(project=project).count(),
        "last_error": forwarding.last_error,
        "last_error_at": forwarding.last_error_at,
        "last_forwarded_at": forwarding.last_forwarded_at,
    }


def store_forwards(
    envelopes: list[tuple[int, dt.datetime, bytes]], skipped: dict[int, int]
) -> int:
    """Keep a batch's envelopes ``(project id, received at, body)`` and
    enqueue one job per project; count the ``skipped`` ones. Runs inside
    digest's transaction. Returns the number of envelopes kept."""
    for project_id, count in skipped.items():
        Forwarding.objects.filter(project_id=project_id).update(
            skipped=F("skipped") + count
        )
    if not envelopes:
        return 0
    active = set(
        Forwarding.objects.filter(
            project_id__in={p for p, _, _ in envelopes}, is_active=True
        ).values_list("project_id", flat=True)
    )
    rows: dict[tuple[int, str], dict] = {}
    for project_id, received_at, body in envelopes:
        if project_id in active:
            checksum = hashlib.sha1(body, usedforsecurity=False).hexdigest()
            rows[(project_id, checksum)] = {
                "project": project_id,
                "checksum": checksum,
                "body": body,
                "received_at": received_at,
            }
    # Only envelopes not kept already get a job: a batch digested again
    # sends nothing twice.
    new = upserts.insert_new(
        ForwardEnvelope, list(rows.values()), key=("project", "checksum")
    )
    by_project: dict[int, list[str]] = {}
    for project_id, checksum in new:
        by_project.setdefault(project_id, []).append(checksum)
    for project_id, checksums in by_project.items():
        ids = sorted(
            ForwardEnvelope.objects.filter(
                project_id=project_id, checksum__in=checksums
            ).values_list("pk", flat=True)
        )
        enqueue(
            FORWARD,
            {"project": project_id, "envelopes": ids},
            key=f"forward:{project_id}:{ids[0]}:{ids[-1]}:{len(ids)}",
            owner=f"adoption.forward:{project_id}",
        )
    return len(new)


def _note_error(forwarding: Forwarding, message: str, refused: int) -> None:
    Forwarding.objects.filter(pk=forwarding.pk).update(
        failed=F("failed") + refused,
        last_error=message[:MAX_ERROR_CHARS],
        last_error_at=timezone.now(),
    )


def _retry_after(value: str | None) -> dt.timedelta | None:
    """Return a Retry-After of whole seconds as a delay (dates are rare
    from Sentry-compatible servers and fall back to the job's backoff)."""
    if value and value.strip().isdigit():
        return dt.timedelta(seconds=min(int(value.strip()), 3600))
    return None


def _post(target: DSN, body: bytes) -> tuple[str, str, dt.timedelta | None]:
    """Send one envelope; return ("sent" | "retry" | "refused", detail, and
    the delay the server asked for)."""
    try:
        response = outbound.request(
            "POST",
            target.envelope_url,
            headers={
                "X-Sentry-Auth": auth_header(target),
                "Content-Type": "application/x-sentry-envelope",
            },
            content=body,
        )
    except outbound.OutboundError as exc:
        return "retry", f"{target.display}: {exc}", None
    if response.status_code < 300:
        return "sent", "", None
    detail = f"{target.display} answered {response.status_code}: {response.text[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        return "retry", detail, _retry_after(response.headers.get("retry-after"))
    return "refused", detail, None


@handler(FORWARD)
def send_forwards(payload: dict) -> dict:
    """Send the job's envelopes that are still waiting, oldest first.

    Each envelope sent or refused for good is deleted as soon as that is
    known, so a retry sends only what is left; the first answer that says
    "later" (429, 5xx, no answer) stops the run and retries the job.
    """
    forwarding = Forwarding.objects.filter(
        project_id=payload["project"], is_active=True
    ).first()
    if forwarding is None:
        return {"skipped": "the project no longer forwards"}
    try:
        target = parse_dsn(forwarding.dsn)
    except DSNError as exc:
        _note_error(forwarding, str(exc), 0)
        return {"skipped": str(exc)}
    sent = refused = 0
    waiting = ForwardEnvelope.objects.filter(
        project_id=payload["project"], pk__in=payload["envelopes"]
    ).order_by("pk")
    for envelope in waiting.iterator():
        outcome, detail, delay = _post(target, bytes(envelope.body))
        if outcome == "retry":
            _count_sent(forwarding, sent)
            _note_error(forwarding, detail, 0)
            raise RetryLater(detail, delay)
        ForwardEnvelope.objects.filter(pk=envelope.pk).delete()
        if outcome == "sent":
            sent += 1
        else:
            refused += 1
            _note_error(forwarding, detail, 1)
    _count_sent(forwarding, sent)
    return {"sent": sent, "refused": refused}


def _count_sent(forwarding: Forwarding, sent: int) -> None:
    if sent:
        Forwarding.objects.filter(pk=forwarding.pk).update(
            forwarded=F("forwarded") + sent, last_forwarded_at=timezone.now()
        )
