"""Daily and weekly digest e-mails, received by a real SMTP server."""

from __future__ import annotations

import datetime as dt

from fixtrail.alerts.digests import queue_due_digests, set_digest
from fixtrail.alerts.models import AlertMute, AlertPreference
from fixtrail.issues.models import HourlyCount
from fixtrail.jobs import runner
from tests.builders import make_issue, make_project

NOW = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)
YESTERDAY = NOW - dt.timedelta(days=1)


def _issues(project):
    new = make_issue(
        project,
        title="KeyError: 'cart'",
        first_seen=NOW - dt.timedelta(hours=3),
        times_seen=12,
        user_count=4,
    )
    old = make_issue(
        project, title="TimeoutError: db", first_seen=NOW - dt.timedelta(days=30)
    )
    HourlyCount.objects.create(issue=old, hour=NOW - dt.timedelta(hours=5), count=900)
    HourlyCount.objects.create(issue=new, hour=NOW - dt.timedelta(hours=3), count=12)
    return new, old


def test_it_sends_a_daily_digest_of_new_and_busiest_issues(project, bob, smtp):
    new, old = _issues(project)
    pref = set_digest(bob, "daily")
    AlertPreference.objects.filter(pk=pref.pk).update(last_digest_at=YESTERDAY)
    assert queue_due_digests(NOW) == 1
    runner.run_until_idle()
    (message,) = smtp.messages
    assert message["To"] == "bob@example.org"
    assert (
        message["Subject"] == "Fixtrail digest: 1 new issue since 2026-03-02 08:00 UTC"
    )
    text = message.get_body(("plain",)).get_content()
    assert (
        f"- [Backend] {new.short_id_display}: KeyError: 'cart' (12 events, 4 users)"
        in text
    )
    busiest = text.split("Busiest issues")[1]
    assert busiest.index("TimeoutError: db (900 events") < busiest.index(
        "KeyError: 'cart' (12 events"
    )
    html = message.get_body(("html",)).get_content()
    assert "KeyError: &#x27;cart&#x27;" in html
    # The next digest is due a day later, not at the next check.
    assert queue_due_digests(NOW + dt.timedelta(minutes=15)) == 0
    assert AlertPreference.objects.get(user=bob).last_digest_at == NOW


def test_it_leaves_out_muted_projects(org, project, bob, smtp):
    _issues(project)
    other = make_project(org, "frontend")
    make_issue(other, title="TypeError: x", first_seen=NOW - dt.timedelta(hours=1))
    AlertMute.objects.create(user=bob, project=project)
    pref = set_digest(bob, "weekly")
    AlertPreference.objects.filter(pk=pref.pk).update(
        last_digest_at=NOW - dt.timedelta(days=7)
    )
    queue_due_digests(NOW)
    runner.run_until_idle()
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "TypeError: x" in text
    assert "KeyError" not in text


def test_it_sends_nothing_when_nothing_happened(project, bob, smtp):
    pref = set_digest(bob, "daily")
    AlertPreference.objects.filter(pk=pref.pk).update(last_digest_at=YESTERDAY)
    assert queue_due_digests(NOW) == 1
    runner.run_until_idle()
    assert smtp.messages == []


def test_it_sends_nothing_to_who_chose_none(project, bob, smtp):
    _issues(project)
    set_digest(bob, "off")
    assert queue_due_digests(NOW) == 0
