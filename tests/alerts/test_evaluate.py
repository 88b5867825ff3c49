"""Rules fire from what digest recorded: real events queued and digested,
the evaluator's unit of work, and the job runner delivering to a real SMTP
server and HTTP receiver."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from fixtrail.accounts.models import Team
from fixtrail.alerts import triggers
from fixtrail.alerts.evaluate import evaluate
from fixtrail.alerts.models import AlertMute, AlertNotice, ChannelHour
from fixtrail.alerts.rules import parse_action, save_rule
from fixtrail.issues import actions
from fixtrail.issues.models import HourlyCount, Issue
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.releases.models import Release
from tests.alerts.conftest import NOW, T0
from tests.builders import make_commit, make_repository
from tests.digest.queueing import digest_queued, python_error, queue_payloads


def _digest(project, payloads, at=T0, now=NOW):
    queue_payloads(project, payloads, received_at=at)
    digest_queued(now)


def _webhook_rule(project, receiver, when, keep_default=False, **fields):
    """Add a webhook rule; unless told, it becomes the project's only rule,
    so the counts of fired alerts are its own."""
    if not keep_default:
        project.alert_rules.filter(is_default=True).delete()
    return save_rule(
        project,
        name=fields.pop("name", "Hook"),
        when=triggers.parse_when(when),
        add_actions=[parse_action(f"webhook:{receiver.url}/hook")],
        **fields,
    )


def test_it_emails_members_about_a_new_issue(project, cursors, smtp):
    _digest(project, [python_error(release="shop@2.1.0", user={"id": "7"})])
    assert evaluate(NOW) == 1
    runner.run_until_idle()
    issue = Issue.objects.get()
    # alice, bob and vera are the organization's members.
    assert sorted(to for _, (to,) in smtp.envelopes) == [
        "alice@example.org",
        "bob@example.org",
        "vera@example.org",
    ]
    message = smtp.messages[0]
    assert message["Subject"] == (
        f"[Backend] New issue: {issue.short_id_display} {issue.title}"
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.splitlines()[:6] == [
        "New issue in Backend",
        "",
        f"{issue.short_id_display}: {issue.title}",
        "shop.cart in parse_quantity",
        "",
        "1 events, 1 users, since release shop@2.1.0",
    ]
    assert f"http://127.0.0.1:8000/issues/{issue.pk}/" in text
    assert f'href="http://127.0.0.1:8000/issues/{issue.pk}/"' in html
    assert AlertNotice.objects.get().trigger == "new"


def test_it_emails_only_the_teams_of_a_project_that_has_teams(
    project, cursors, smtp, bob, vera
):
    team = Team.objects.create(organization=project.organization, slug="shop")
    team.members.add(bob)
    project.teams.add(team)
    # vera's team has another project: she is not told about this one.
    other = Team.objects.create(organization=project.organization, slug="ops")
    other.members.add(vera)
    _digest(project, [python_error()])
    assert evaluate(NOW) == 1
    runner.run_until_idle()
    assert [to for _, (to,) in smtp.envelopes] == ["bob@example.org"]


def test_it_sends_one_alert_for_a_burst_of_ten_thousand_events(
    project, cursors, smtp, receiver
):
    saved = _webhook_rule(
        project, receiver, ["new", "frequency:100/10m"], keep_default=True
    )
    _digest(project, [python_error() for _ in range(10_000)])
    assert Issue.objects.get().times_seen == 10_000
    # The default rule e-mails the new issue; the hook rule fires once for
    # the issue (new), and its frequency trigger is cooling down after it.
    assert evaluate(NOW) == 2
    assert evaluate(NOW + dt.timedelta(seconds=30)) == 0
    runner.run_until_idle()
    assert len(receiver.requests) == 1
    assert receiver.requests[0].json()["trigger"] == "new"
    assert len(smtp.messages) == 3  # one per member
    assert AlertNotice.objects.filter(rule=saved.rule).count() == 1


def test_it_posts_a_signed_webhook(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new"])
    secret = saved.rule.actions.get().secret
    _digest(project, [python_error(user={"id": "7"}, release="2.0")])
    evaluate(NOW)
    runner.run_until_idle()
    (request,) = receiver.requests
    issue = Issue.objects.get()
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Fixtrail-Signature"] == f"sha256={expected}"
    assert request.path == "/hook"
    body = request.json()
    assert body["id"] == issue.pk
    assert body["short_id"] == issue.short_id_display
    assert body["title"] == issue.title
    assert body["project"] == {
        "slug": "backend",
        "name": "Backend",
        "organization": "acme",
    }
    assert body["url"] == f"http://127.0.0.1:8000/issues/{issue.pk}/"
    assert body["trigger"] == "new"
    assert body["counts"]["events"] == 1
    assert body["counts"]["users"] == 1
    assert body["first_release"] == "2.0"


def test_it_retries_a_failed_webhook_and_keeps_the_error(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new"])
    receiver.statuses = [503]
    _digest(project, [python_error()])
    evaluate(NOW)
    runner.run_until_idle()
    job = Job.objects.get(owner=saved.rule.job_owner)
    assert job.state == Job.State.PENDING
    assert job.last_error.startswith("127.0.0.1:")
    assert "answered 503: receiver is down" in job.last_error
    runner.retry_now(job)
    runner.run_until_idle()
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert len(receiver.requests) == 2


def test_it_fails_a_webhook_the_receiver_refuses_for_good(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new"])
    receiver.statuses = [410]
    _digest(project, [python_error()])
    evaluate(NOW)
    runner.run_until_idle()
    job = Job.objects.get(owner=saved.rule.job_owner)
    assert job.state == Job.State.FAILED
    assert "answered 410" in job.last_error


def test_it_keeps_quiet_during_the_cool_down(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["frequency:2/10m"], cooldown_minutes=30)
    _digest(project, [python_error() for _ in range(3)])
    assert evaluate(NOW) == 1
    # Still over the threshold a minute later, but within the cool-down.
    _digest(project, [python_error() for _ in range(3)], at=NOW)
    assert evaluate(NOW + dt.timedelta(minutes=1)) == 0
    later = T0 + dt.timedelta(minutes=40)
    _digest(project, [python_error() for _ in range(3)], at=later, now=later)
    assert evaluate(later + dt.timedelta(seconds=5)) == 1
    assert AlertNotice.objects.filter(rule=saved.rule).count() == 2


def test_it_counts_frequency_only_inside_the_window(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["frequency:2/10m"])
    # Three events, but 20 minutes apart: never more than 2 in 10 minutes.
    for minutes in (0, 20, 40):
        _digest(project, [python_error()], at=T0 + dt.timedelta(minutes=minutes))
    assert evaluate(T0 + dt.timedelta(minutes=41)) == 0
    assert AlertNotice.objects.filter(rule=saved.rule).exists() is False


def test_it_counts_distinct_users(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["users:2/1h"])
    _digest(project, [python_error(user={"id": str(n % 2)}) for n in range(10)])
    assert evaluate(NOW) == 0
    _digest(project, [python_error(user={"id": "third"})])
    assert evaluate(NOW) == 1
    notice = AlertNotice.objects.get(rule=saved.rule)
    assert notice.data == {"window_users": 3, "window_minutes": 60}
    runner.run_until_idle()
    assert receiver.requests[0].json()["counts"]["window_users"] == 3


def test_it_detects_a_spike_against_the_same_hour_on_past_days(
    project, cursors, receiver
):
    saved = _webhook_rule(project, receiver, ["spike:3"])
    _digest(project, [python_error() for _ in range(20)])
    issue = Issue.objects.get()
    hour = T0.replace(minute=0)
    # Usually 10 an hour at this hour: 20 is only twice that.
    HourlyCount.objects.bulk_create(
        HourlyCount(issue=issue, hour=hour - dt.timedelta(days=d), count=10)
        for d in range(1, 8)
    )
    assert evaluate(NOW) == 0
    _digest(project, [python_error() for _ in range(10)])
    assert evaluate(NOW) == 1
    notice = AlertNotice.objects.get(rule=saved.rule)
    assert notice.data == {
        "window_events": 30,
        "window_minutes": 60,
        "usual_rate": 10.0,
    }


def test_it_applies_the_rule_filter(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new"], filter="environment:production")
    _digest(project, [python_error(environment="staging")])
    _digest(project, [python_error(type_="KeyError", environment="production")])
    evaluate(NOW)
    notices = AlertNotice.objects.filter(rule=saved.rule)
    assert [n.issue.type for n in notices] == ["KeyError"]


def test_it_alerts_on_a_regression(project, cursors, receiver, alice):
    saved = _webhook_rule(project, receiver, ["regression"])
    _digest(project, [python_error(release="1.0")])
    issue = Issue.objects.get()
    actions.resolve_issues(
        [issue], user=alice, how="now", now=T0 + dt.timedelta(minutes=2)
    )
    later = T0 + dt.timedelta(minutes=5)
    _digest(project, [python_error(release="1.1")], at=later, now=later)
    assert evaluate(later) == 1
    runner.run_until_idle()
    body = receiver.requests[0].json()
    assert body["trigger"] == "regression"
    assert AlertNotice.objects.get(rule=saved.rule).data == {"release": "1.1"}


def test_it_alerts_on_the_first_event_in_a_new_release(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new-release"])
    _digest(project, [python_error(release="1.0")])
    assert evaluate(NOW) == 0
    later = T0 + dt.timedelta(minutes=5)
    _digest(project, [python_error(release="1.1")], at=later, now=later)
    _digest(project, [python_error(release="1.1")], at=later, now=later)
    assert evaluate(later) == 1
    assert AlertNotice.objects.get(rule=saved.rule).data == {"value": "1.1"}


def test_it_does_not_fire_twice_for_a_record_read_again(project, cursors, smtp):
    _digest(project, [python_error()])
    assert evaluate(NOW) == 1
    # Within the settle time the same Activity row is read again.
    assert evaluate(NOW + dt.timedelta(seconds=30)) == 0
    assert AlertNotice.objects.count() == 1


def test_it_leaves_out_people_who_muted(project, cursors, smtp, bob, vera):
    AlertMute.objects.create(user=bob, project=project)
    AlertMute.objects.create(user=vera)
    _digest(project, [python_error()])
    evaluate(NOW)
    runner.run_until_idle()
    assert [to for _, (to,) in smtp.envelopes] == ["alice@example.org"]


def test_it_leaves_out_people_who_muted_the_issue(project, cursors, smtp, alice):
    _digest(project, [python_error()])
    evaluate(NOW)
    runner.run_until_idle()
    issue = Issue.objects.get()
    AlertMute.objects.create(user=alice, issue=issue)
    actions.resolve_issues(
        [issue], user=alice, how="now", now=T0 + dt.timedelta(minutes=2)
    )
    later = T0 + dt.timedelta(hours=2)
    _digest(project, [python_error()], at=later, now=later)
    smtp.envelopes.clear()
    assert evaluate(later) == 1
    runner.run_until_idle()
    assert sorted(to for _, (to,) in smtp.envelopes) == [
        "bob@example.org",
        "vera@example.org",
    ]


def test_it_caps_messages_per_channel_per_hour(project, cursors, receiver, settings):
    settings.ALERTS_HOURLY_CAP = 2
    saved = _webhook_rule(project, receiver, ["new"])
    _digest(project, [python_error(type_=f"Error{n}") for n in range(4)])
    assert evaluate(NOW) == 4
    runner.run_until_idle()
    assert len(receiver.requests) == 2
    jobs = Job.objects.filter(owner=saved.rule.job_owner, state=Job.State.DONE)
    dropped = [j for j in jobs if j.result and "dropped" in j.result]
    assert len(dropped) == 2
    row = ChannelHour.objects.get()
    assert row.dropped == 2


def test_it_sends_one_alert_for_an_issue_created_and_regressed_in_one_run(
    project, cursors, receiver, alice
):
    _webhook_rule(project, receiver, ["new", "regression"])
    _digest(project, [python_error(release="1.0")])
    issue = Issue.objects.get()
    actions.resolve_issues(
        [issue], user=alice, how="now", now=T0 + dt.timedelta(minutes=2)
    )
    later = T0 + dt.timedelta(minutes=5)
    _digest(project, [python_error(release="1.1")], at=later, now=later)
    assert evaluate(later) == 1
    assert AlertNotice.objects.get().trigger == "new"


def test_it_alerts_on_the_first_event_in_a_new_environment(project, cursors, receiver):
    saved = _webhook_rule(project, receiver, ["new-environment"])
    _digest(project, [python_error(environment="staging")])
    assert evaluate(NOW) == 0
    later = T0 + dt.timedelta(minutes=5)
    _digest(project, [python_error(environment="production")], at=later, now=later)
    assert evaluate(later) == 1
    runner.run_until_idle()
    assert receiver.requests[0].json()["what"] == (
        "First seen in environment production"
    )
    assert AlertNotice.objects.get(rule=saved.rule).trigger == "new-environment"


def test_it_names_the_suspect_commit_and_merge_request(project, cursors, receiver):
    _webhook_rule(project, receiver, ["new"])
    _digest(project, [python_error(release="2.0")])
    make_commit(
        make_repository(project.organization),
        "e" * 40,
        message="Parse quantities strictly\n\nSee merge request acme/shop!21",
        files=["src/shop/cart.py"],
        release=Release.objects.get(version="2.0"),
    )
    evaluate(NOW)
    runner.run_until_idle()
    (request,) = receiver.requests
    suspect = request.json()["suspect"]
    assert suspect["sha"] == "e" * 40
    assert suspect["subject"] == "Parse quantities strictly"
    assert suspect["author"] == "Alice Liddell"
    assert suspect["url"] == f"https://gitlab.example.com/acme/shop/-/commit/{'e' * 40}"
    assert suspect["merge_request"] == {
        "number": 21,
        "title": "Parse quantities strictly",
        "url": "https://gitlab.example.com/acme/shop/-/merge_requests/21",
    }


def test_it_sends_no_suspect_without_commits(project, cursors, receiver):
    _webhook_rule(project, receiver, ["new"])
    _digest(project, [python_error(release="2.0")])
    evaluate(NOW)
    runner.run_until_idle()
    (request,) = receiver.requests
    assert request.json()["suspect"] is None
