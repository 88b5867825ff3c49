"""Issue workflows, and how later events move issues through the lifecycle
(regressions, ignores ending)."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.accounts.models import Team
from fixtrail.events.models import Event, EventKey
from fixtrail.issues.actions import (
    IssueActionError,
    add_comment,
    assign_issues,
    delete_issues,
    escalate_expired_ignores,
    ignore_issues,
    mark_seen,
    merge_issues,
    resolve_issues,
    set_bookmark,
    set_priority,
    settle_new_issues,
    unresolve_issues,
)
from fixtrail.issues.models import (
    Activity,
    HourlyCount,
    Issue,
    IssueHash,
    IssueUser,
    TagValue,
)
from tests.builders import make_issue
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

HOUR = dt.timedelta(hours=1)


def _event_at(project, moment: dt.datetime, **fields) -> None:
    """Queue and digest one occurrence of the test error at ``moment``."""
    queue_payloads(project, [python_error(**fields)], received_at=moment)
    digest_queued(now=moment)


@pytest.fixture
def issue(project):
    _event_at(project, T0, release="1.0")
    return Issue.objects.get()


def _kinds(issue: Issue) -> list[str]:
    return list(issue.activities.order_by("id").values_list("kind", flat=True))


def test_it_resolves_an_issue(issue, bob):
    count = resolve_issues([issue], user=bob, how="now", now=T0 + HOUR)

    issue.refresh_from_db()
    assert count == 1
    assert (issue.status, issue.substatus) == ("resolved", "")
    assert issue.resolved_at == T0 + HOUR
    activity = issue.activities.get(kind="resolved")
    assert (activity.user, activity.data) == (bob, {"how": "now"})


def test_it_reopens_a_resolved_issue_as_a_regression(project, issue, bob):
    resolve_issues([issue], user=bob, how="now", now=T0 + HOUR)

    queue_payloads(project, [python_error(release="1.0")], received_at=T0 + 2 * HOUR)
    result = digest_queued(now=T0 + 2 * HOUR)

    issue.refresh_from_db()
    assert result.regressed_issue_ids == [issue.pk]
    assert (issue.status, issue.substatus) == ("unresolved", "regressed")
    assert issue.is_regressed is True
    assert issue.resolved_at is None
    assert _kinds(issue) == ["first_seen", "resolved", "regression"]
    assert issue.activities.get(kind="regression").data["release"] == "1.0"
    assert issue.times_seen == 2


def test_it_does_not_reopen_for_an_event_received_before_resolving(project, issue, bob):
    resolve_issues([issue], user=bob, how="now", now=T0 + 2 * HOUR)

    _event_at(project, T0 + HOUR)

    issue.refresh_from_db()
    assert issue.status == "resolved"
    assert issue.times_seen == 2


def test_it_reopens_an_issue_resolved_in_next_release_only_for_a_new_release(
    project, issue, bob
):
    resolve_issues([issue], user=bob, how="next_release", now=T0 + HOUR)

    _event_at(project, T0 + 2 * HOUR, release="1.0")
    issue.refresh_from_db()
    still_resolved = issue.status
    _event_at(project, T0 + 3 * HOUR, release="1.1")

    issue.refresh_from_db()
    assert still_resolved == "resolved"
    assert (issue.status, issue.substatus) == ("unresolved", "regressed")
    assert issue.activities.get(kind="regression").data["release"] == "1.1"


def test_it_reopens_an_issue_resolved_in_a_release_only_from_that_release_on(
    project, issue, bob
):
    _event_at(project, T0 + HOUR, release="1.9.0")
    resolve_issues(
        Issue.objects.all(), user=bob, how="in_release", release="2.0.0", now=T0 + HOUR
    )

    _event_at(project, T0 + 2 * HOUR, release="1.9.0")
    issue.refresh_from_db()
    after_old = issue.status
    _event_at(project, T0 + 3 * HOUR, release="2.0.1")

    issue.refresh_from_db()
    assert after_old == "resolved"
    assert issue.status == "unresolved"
    assert issue.is_regressed is True


def test_it_orders_unversioned_releases_by_when_the_project_saw_them(
    project, issue, bob
):
    _event_at(project, T0 + HOUR, release="abc123")
    _event_at(project, T0 + 2 * HOUR, release="def456")
    resolve_issues(
        [issue], user=bob, how="in_release", release="def456", now=T0 + 3 * HOUR
    )

    _event_at(project, T0 + 4 * HOUR, release="abc123")
    issue.refresh_from_db()
    after_old = issue.status
    _event_at(project, T0 + 5 * HOUR, release="fed789")

    issue.refresh_from_db()
    assert after_old == "resolved"
    assert issue.status == "unresolved"


def test_it_clears_the_regression_flag_when_resolved_again(project, issue, bob):
    resolve_issues([issue], user=bob, how="now", now=T0 + HOUR)
    _event_at(project, T0 + 2 * HOUR)

    resolve_issues([issue], user=bob, how="now", now=T0 + 3 * HOUR)

    issue.refresh_from_db()
    assert issue.is_regressed is False


@pytest.mark.parametrize(
    ("how", "fields", "message"),
    [
        ("in_release", {}, "Choose the release that fixes this issue."),
        ("in_commit", {}, "Give the commit that fixes this issue."),
        ("someday", {}, "Unknown resolution 'someday'"),
    ],
)
def test_it_refuses_an_incomplete_resolution(issue, bob, how, fields, message):
    with pytest.raises(IssueActionError, match=message):
        resolve_issues([issue], user=bob, how=how, now=T0, **fields)

    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_records_a_resolution_in_a_commit(issue, bob):
    resolve_issues([issue], user=bob, how="in_commit", commit="a1b2c3", now=T0)

    issue.refresh_from_db()
    assert issue.resolved_in_commit == "a1b2c3"
    assert issue.activities.get(kind="resolved").data == {
        "how": "in_commit",
        "commit": "a1b2c3",
    }


def test_it_unresolves_an_issue(issue, bob):
    resolve_issues([issue], user=bob, how="next_release", now=T0 + HOUR)

    count = unresolve_issues([issue], user=bob, now=T0 + 2 * HOUR)

    issue.refresh_from_db()
    assert count == 1
    assert (issue.status, issue.substatus) == ("unresolved", "ongoing")
    assert issue.resolved_in_next_release is False
    assert _kinds(issue)[-1] == "unresolved"


def test_it_does_not_unresolve_an_unresolved_issue(issue, bob):
    assert unresolve_issues([issue], user=bob, now=T0) == 0
    assert _kinds(issue) == ["first_seen"]


def test_it_brings_an_ignored_issue_back_after_n_more_events(project, issue, bob):
    ignore_issues([issue], user=bob, now=T0 + HOUR, count=3)

    for n in range(2):
        _event_at(project, T0 + (2 + n) * HOUR)
    issue.refresh_from_db()
    after_two = issue.status
    _event_at(project, T0 + 4 * HOUR)

    issue.refresh_from_db()
    assert after_two == "ignored"
    assert (issue.status, issue.substatus) == ("unresolved", "escalating")
    assert issue.ignore_count is None
    assert _kinds(issue) == ["first_seen", "ignored", "escalating"]
    assert issue.activities.get(kind="escalating").data == {"reason": "count"}


def test_it_counts_only_events_in_the_window(project, issue, bob):
    ignore_issues([issue], user=bob, now=T0 + HOUR, count=2, window_minutes=30)

    _event_at(project, T0 + 2 * HOUR)
    _event_at(project, T0 + 3 * HOUR)
    issue.refresh_from_db()
    spread_out = issue.status
    queue_payloads(
        project,
        [python_error(), python_error()],
        received_at=T0 + 4 * HOUR,
    )
    digest_queued(now=T0 + 4 * HOUR)

    issue.refresh_from_db()
    assert spread_out == "ignored"
    assert issue.substatus == "escalating"


def test_it_brings_an_ignored_issue_back_after_n_more_users(project, issue, bob):
    ignore_issues([issue], user=bob, now=T0 + HOUR, user_count=2)

    _event_at(project, T0 + 2 * HOUR, user={"id": 1})
    _event_at(project, T0 + 2 * HOUR, user={"id": 1})
    issue.refresh_from_db()
    one_user = issue.status
    _event_at(project, T0 + 3 * HOUR, user={"id": 2})

    issue.refresh_from_db()
    assert one_user == "ignored"
    assert issue.substatus == "escalating"
    assert issue.activities.get(kind="escalating").data == {"reason": "users"}


def test_it_keeps_an_issue_ignored_forever(project, issue, bob):
    ignore_issues([issue], user=bob, now=T0 + HOUR)

    for n in range(3):
        _event_at(project, T0 + (2 + n) * HOUR)

    issue.refresh_from_db()
    assert issue.status == "ignored"
    assert issue.times_seen == 4


def test_it_brings_back_issues_whose_ignore_time_is_up(issue, bob):
    ignore_issues([issue], user=bob, now=T0, until=T0 + HOUR)

    early = escalate_expired_ignores(T0 + HOUR / 2)
    late = escalate_expired_ignores(T0 + HOUR)

    issue.refresh_from_db()
    assert (early, late) == (0, 1)
    assert (issue.status, issue.substatus) == ("unresolved", "escalating")
    activity = issue.activities.get(kind="escalating")
    assert (activity.user, activity.data) == (None, {"reason": "until"})


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"until": T0}, "The end of the ignore period must be in the future."),
        ({"window_minutes": 5}, "A window needs a number of events."),
        ({"user_window_minutes": 5}, "A user window needs a number of users."),
        ({"count": 0}, "The number of events must be between 1 and"),
    ],
)
def test_it_refuses_bad_ignore_conditions(issue, bob, conditions, message):
    with pytest.raises(IssueActionError, match=message):
        ignore_issues([issue], user=bob, now=T0, **conditions)

    issue.refresh_from_db()
    assert issue.status == "unresolved"


def test_it_records_the_ignore_conditions(issue, bob):
    ignore_issues([issue], user=bob, now=T0, count=10, window_minutes=60, user_count=3)

    issue.refresh_from_db()
    assert issue.ignore_base_count == 1
    assert issue.activities.get(kind="ignored").data == {
        "count": 10,
        "window_minutes": 60,
        "user_count": 3,
    }


def test_it_assigns_to_a_member_and_unassigns(issue, alice, bob):
    assign_issues([issue], user=alice, assignee=bob, now=T0)
    issue.refresh_from_db()
    assigned = issue.assignee

    count = assign_issues([issue], user=alice, now=T0)

    issue.refresh_from_db()
    assert (assigned, issue.assignee, count) == (bob, None, 1)
    assert _kinds(issue)[-2:] == ["assigned", "unassigned"]


def test_it_refuses_to_assign_an_outsider(issue, alice, charlie):
    with pytest.raises(IssueActionError, match="is not a member of this organization"):
        assign_issues([issue], user=alice, assignee=charlie)

    issue.refresh_from_db()
    assert issue.assignee is None


def test_it_assigns_to_a_team_of_the_organization(issue, alice, org, charlies_org):
    team = Team.objects.create(organization=org, slug="web", name="Web")
    other = Team.objects.create(organization=charlies_org, slug="evil", name="Evil")

    assign_issues([issue], user=alice, team=team, now=T0)
    with pytest.raises(IssueActionError, match="Team #evil is not in this"):
        assign_issues([issue], user=alice, team=other, now=T0)

    issue.refresh_from_db()
    assert issue.assignee_team == team
    assert issue.activities.get(kind="assigned").data == {
        "team": "web",
        "team_id": team.pk,
    }


def test_it_merges_issues_into_the_one_with_most_events(project, bob):
    for n in range(3):
        _event_at(project, T0 + n * HOUR, user={"id": n}, release="1.0")
    _event_at(project, T0 + 5 * HOUR, type_="KeyError", user={"id": 9}, release="2.0")
    big = Issue.objects.get(type="ValueError")
    small = Issue.objects.get(type="KeyError")
    add_comment(small, user=bob, text="seen in checkout")

    survivor = merge_issues([small, big], user=bob, now=T0 + 6 * HOUR)

    assert survivor == big
    assert list(Issue.objects.all()) == [big]
    assert survivor.times_seen == 4
    assert survivor.user_count == 4
    assert (survivor.first_seen, survivor.last_seen) == (T0, T0 + 5 * HOUR)
    assert survivor.last_release == "2.0"
    assert Event.objects.filter(issue=big).count() == 4
    assert IssueHash.objects.filter(issue=big).count() == 2
    assert (
        sum(HourlyCount.objects.filter(issue=big).values_list("count", flat=True)) == 4
    )
    assert dict(
        TagValue.objects.filter(issue=big, key="release").values_list(
            "value", "times_seen"
        )
    ) == {"1.0": 3, "2.0": 1}
    assert IssueUser.objects.filter(issue=big).count() == 4
    merged = big.activities.get(kind="merged")
    assert merged.data == {"merged": ["BACKEND-2"]}
    assert big.activities.filter(kind="comment").count() == 1


def test_it_sends_later_events_of_a_merged_issue_to_the_survivor(project, bob):
    _event_at(project, T0)
    _event_at(project, T0)
    _event_at(project, T0, type_="KeyError")
    survivor = merge_issues(list(Issue.objects.all()), user=bob, now=T0 + HOUR)

    _event_at(project, T0 + 2 * HOUR, type_="KeyError")

    assert list(Issue.objects.all()) == [survivor]
    survivor.refresh_from_db()
    assert survivor.times_seen == 4


def test_it_refuses_to_merge_a_single_issue_or_across_projects(
    project, charlies_project, bob
):
    mine = make_issue(project)
    theirs = make_issue(charlies_project)

    with pytest.raises(IssueActionError, match="Choose at least two issues"):
        merge_issues([mine], user=bob)
    with pytest.raises(IssueActionError, match="same project"):
        merge_issues([mine, theirs], user=bob)

    assert Issue.objects.count() == 2


def test_it_deletes_issues_with_their_events(project, issue, bob):
    [event_id] = Event.objects.values_list("event_id", flat=True)

    count = delete_issues([issue], user=bob)

    assert count == 1
    assert Issue.objects.count() == 0
    assert Event.objects.count() == 0
    assert EventKey.objects.filter(event_id=event_id).count() == 0
    assert Activity.objects.count() == 0


def test_it_opens_a_new_issue_for_events_after_a_deletion(project, issue, bob):
    delete_issues(Issue.objects.all(), user=bob)

    _event_at(project, T0 + HOUR)

    new = Issue.objects.get()
    assert new.short_id == 2
    assert new.times_seen == 1


def test_it_sets_the_priority_once(issue, bob):
    set_priority(issue, 75, user=bob, now=T0)
    set_priority(issue, 75, user=bob, now=T0)

    issue.refresh_from_db()
    assert issue.priority == 75
    assert issue.activities.get(kind="priority").data == {"from": 50, "to": 75}


def test_it_takes_a_priority_by_name(issue, bob):
    set_priority(issue, "Low", user=bob, now=T0)

    issue.refresh_from_db()
    assert issue.priority == 25


def test_it_refuses_an_unknown_priority(issue, bob):
    with pytest.raises(IssueActionError, match="Unknown priority 60"):
        set_priority(issue, 60, user=bob)


def test_it_adds_a_comment(issue, bob):
    activity = add_comment(issue, user=bob, text="  Looking into it.  ", now=T0)

    assert (activity.kind, activity.user, activity.data) == (
        "comment",
        bob,
        {"text": "Looking into it."},
    )


def test_it_refuses_an_empty_comment(issue, bob):
    with pytest.raises(IssueActionError, match="A comment cannot be empty."):
        add_comment(issue, user=bob, text="   ")

    assert issue.activities.filter(kind="comment").count() == 0


def test_it_bookmarks_and_marks_seen(issue, bob):
    set_bookmark(issue, bob, True)
    mark_seen(issue, bob)
    bookmarked = list(issue.bookmarked_by.all())

    set_bookmark(issue, bob, False)

    assert bookmarked == [bob]
    assert list(issue.bookmarked_by.all()) == []
    assert list(issue.seen_by.all()) == [bob]


def test_it_settles_new_issues_after_a_week(issue):
    early = settle_new_issues(T0 + dt.timedelta(days=6))
    late = settle_new_issues(T0 + dt.timedelta(days=7))

    issue.refresh_from_db()
    assert (early, late) == (0, 1)
    assert issue.substatus == "ongoing"
