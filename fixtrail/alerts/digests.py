"""Daily or weekly digest e-mails: per person, the new and the busiest
issues of the projects they belong to (muted projects and issues left out).

``queue_due_digests(now)`` runs periodically and queues one job per person
whose period has passed; the job composes and sends the e-mail, so a mail
server that is down delays the digest instead of losing it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from fixtrail.alerts import channels
from fixtrail.alerts.models import AlertMute, AlertPreference
from fixtrail.issues.models import HourlyCount, Issue
from fixtrail.jobs import runner
from fixtrail.jobs.registry import PermanentFailure, RetryLater
from fixtrail.projects.models import Project

SEND_DIGEST = "alerts.digest"
PERIODS = {
    AlertPreference.Digest.DAILY: dt.timedelta(days=1),
    AlertPreference.Digest.WEEKLY: dt.timedelta(days=7),
}
# Issues per section of a digest; the e-mail links to the full list.
NEW_ISSUES_SHOWN = 10
TOP_ISSUES_SHOWN = 10


def queue_due_digests(now: dt.datetime) -> int:
    """Queue a digest job for each person whose daily or weekly digest is
    due; return how many were queued."""
    queued = 0
    prefs = AlertPreference.objects.exclude(digest=AlertPreference.Digest.OFF)
    for pref in prefs.select_related("user"):
        period = PERIODS[AlertPreference.Digest(pref.digest)]
        since = pref.last_digest_at or now - period
        if now - since < period or not pref.user.is_active:
            continue
        payload = {
            "user": pref.user_id,
            "since": since.isoformat(),
            "until": now.isoformat(),
        }
        runner.enqueue(
            SEND_DIGEST, payload, key=f"alerts:digest:{pref.user_id}:{now.isoformat()}"
        )
        AlertPreference.objects.filter(pk=pref.pk).update(last_digest_at=now)
        queued += 1
    return queued


def digest_context(user: object, since: dt.datetime, until: dt.datetime) -> dict:
    """Return what ``user``'s digest of ``since``..``until`` lists."""
    mutes = list(AlertMute.objects.filter(user=user))
    muted_projects = {m.project_id for m in mutes if m.project_id and not m.issue_id}
    muted_issues = {m.issue_id for m in mutes if m.issue_id}
    projects = Project.objects.for_user(user).exclude(pk__in=muted_projects)
    issues = (
        Issue.objects.filter(project__in=projects)
        .exclude(pk__in=muted_issues)
        .select_related("project__organization")
    )
    new = list(
        issues.filter(first_seen__gte=since, first_seen__lt=until).order_by(
            "-times_seen"
        )[:NEW_ISSUES_SHOWN]
    )
    busiest = (
        HourlyCount.objects.filter(issue__in=issues, hour__gte=since, hour__lt=until)
        .values("issue_id")
        .annotate(n=Sum("count"))
        .order_by("-n")[:TOP_ISSUES_SHOWN]
    )
    counts = {row["issue_id"]: row["n"] for row in busiest}
    by_id = issues.in_bulk(list(counts))
    top = [(by_id[pk], n) for pk, n in counts.items() if pk in by_id]
    return {
        "user": user,
        "since": since,
        "until": until,
        "new_issues": new,
        "top_issues": top,
    }


def send_digest(payload: dict) -> dict:
    """Job handler: compose and send one person's digest."""
    from fixtrail.accounts.models import User

    user = User.objects.filter(pk=payload["user"], is_active=True).first()
    if user is None:
        return {"skipped": "no such user"}
    if AlertMute.objects.filter(user=user, project=None, issue=None).exists():
        return {"skipped": "all alerts muted"}
    ctx = digest_context(
        user,
        dt.datetime.fromisoformat(payload["since"]),
        dt.datetime.fromisoformat(payload["until"]),
    )
    if not ctx["new_issues"] and not ctx["top_issues"]:
        return {"skipped": "nothing happened"}
    ctx["base_url"] = settings.BASE_URL
    try:
        channels.send_email(user.email, "digest", ctx)
    except channels.ChannelError as exc:
        raise (PermanentFailure if exc.permanent else RetryLater)(exc.message) from None
    return {"sent": "digest", "to": user.email}


def set_digest(user: object, digest: str) -> AlertPreference:
    """Set ``user``'s digest frequency (off, daily, weekly)."""
    pref, _ = AlertPreference.objects.get_or_create(user=user)
    pref.digest = AlertPreference.Digest(digest)
    if pref.last_digest_at is None:
        pref.last_digest_at = timezone.now()
    pref.save(update_fields=["digest", "last_digest_at"])
    return pref
