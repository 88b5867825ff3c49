"""Merge-request feedback from a deploy to the note, against stand-ins for
GitLab and GitHub, with issues made by the real queue and digest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fixtrail.issues.models import Issue
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.jobs.registry import PERIODIC
from fixtrail.releases.feedback import (
    DEPLOY_KIND,
    NOTE_KIND,
    FeedbackError,
    request_merge_request_note,
    request_release_feedback,
    schedule_deploy_feedback,
    schedule_missed_deploys,
)
from fixtrail.releases.models import Deploy
from tests.builders import (
    make_commit,
    make_merge_request,
    make_release,
    make_repository,
)
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads
from tests.releases.standins import GitHubStandIn, GitLabStandIn
from tests.releases.support import add_events, seed_release

TOKEN = "glpat-feedback-token"
HOUR = dt.timedelta(hours=1)
NOTES = "/api/v4/projects/acme%2Fbackend/merge_requests"


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def repository(org, project, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)
    repository.projects.add(project)
    return repository


@pytest.fixture
def release(org, project, repository):
    return seed_release(org, project, repository)


def _deploy(release, ago: dt.timedelta = 2 * HOUR, environment="production"):
    return Deploy.objects.create(
        release=release, environment=environment, finished_at=timezone.now() - ago
    )


def test_it_notes_each_merge_request_once_the_window_after_a_deploy_passed(
    release, gitlab
):
    deploy = _deploy(release, ago=dt.timedelta(minutes=5))

    job = schedule_deploy_feedback(deploy)
    runner.run_until_idle()
    early = list(gitlab.requests)
    runner.run_due(now=job.run_after)
    runner.run_until_idle()

    assert job.key == f"mr-feedback:deploy:{deploy.pk}"
    # An hour after the deploy (give or take the moments between the calls).
    assert abs(job.run_after - (deploy.finished_at + HOUR)) < dt.timedelta(seconds=1)
    # Nothing before the hour is up.
    assert early == []
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert gitlab.calls() == [f"POST {NOTES}/7/notes", f"POST {NOTES}/8/notes"]
    assert all(s.headers["private-token"] == TOKEN for s in gitlab.requests)
    body = gitlab.notes[7][9001]
    assert "**1 new issue and 1 regression** since release `2.0`." in body
    assert "Deployed to `production` at" in body
    key_error = Issue.objects.get(type="KeyError")
    value_error = Issue.objects.get(type="ValueError")
    assert f"[BACKEND-{_b36(key_error)}](http://127.0.0.1:8000/issues/" in body
    assert "`KeyError: invalid literal for int() with base 10: 'abc'`: 3 events" in body
    assert "Regressed issues" in body
    assert f"BACKEND-{_b36(value_error)}" in body
    assert "ZeroDivisionError" not in body
    mr7 = release.release_commits.get(commit__sha="a" * 40).commit.merge_request
    assert mr7.feedback_note_id == "9001"
    assert mr7.feedback_sent_at is not None
    assert gitlab.unexpected == []


def _b36(issue: Issue) -> str:
    return issue.short_id_display.rsplit("-", 1)[1]


def test_it_edits_its_note_rather_than_posting_again(release, gitlab):
    request_release_feedback(release)
    runner.run_until_idle()
    add_events(release.projects.get(), T0 + 3 * HOUR, "2.0", type_="OSError")

    second = request_release_feedback(release)
    runner.run_until_idle()

    assert len(second.jobs) == 2
    assert gitlab.calls() == [
        f"POST {NOTES}/7/notes",
        f"POST {NOTES}/8/notes",
        f"PUT {NOTES}/7/notes/9001",
        f"PUT {NOTES}/8/notes/9002",
    ]
    # One note per merge request, now listing the new OSError too.
    assert set(gitlab.notes) == {7, 8}
    assert list(gitlab.notes[7]) == [9001]
    assert "**2 new issues and 1 regression**" in gitlab.notes[7][9001]
    assert Job.objects.get(pk=second.jobs[0].pk).result == {
        "note_id": "9001",
        "issues": 3,
        "edited": True,
    }


def test_it_makes_one_feedback_job_per_deploy(release):
    deploy = _deploy(release)

    first = schedule_deploy_feedback(deploy)
    again = schedule_deploy_feedback(deploy)

    assert first.pk == again.pk
    assert Job.objects.filter(kind=DEPLOY_KIND).count() == 1


def test_it_schedules_deploys_recorded_without_feedback(release):
    noted = _deploy(release)
    schedule_deploy_feedback(noted)
    missed = _deploy(release, environment="staging")
    recent = _deploy(release, ago=dt.timedelta(minutes=1))
    old = _deploy(release, ago=dt.timedelta(days=3))

    count = schedule_missed_deploys(timezone.now())
    again = schedule_missed_deploys(timezone.now())

    assert (count, again) == (1, 0)
    keys = set(Job.objects.filter(kind=DEPLOY_KIND).values_list("key", flat=True))
    assert keys == {f"mr-feedback:deploy:{noted.pk}", f"mr-feedback:deploy:{missed.pk}"}
    # Too recent (window not passed) or too old (before the lookback).
    assert f"mr-feedback:deploy:{recent.pk}" not in keys
    assert f"mr-feedback:deploy:{old.pk}" not in keys


def test_it_fails_the_note_job_with_a_clear_error_on_a_bad_token(
    release, repository, gitlab
):
    repository.token = "revoked"
    repository.save()

    queued = request_release_feedback(release)
    runner.run_until_idle()

    for job in queued.jobs:
        job.refresh_from_db()
        assert job.state == Job.State.FAILED
        assert job.last_error == (
            "GitLab refused the access token (HTTP 401: 401 Unauthorized): set a "
            "valid token on the repository"
        )
    assert gitlab.notes == {}


def test_it_retries_a_rate_limited_note_and_posts_it_once(release, gitlab):
    gitlab.fail_next("POST", f"{NOTES}/7/notes", 429, {"Retry-After": "30"})

    queued = request_release_feedback(release)
    runner.run_until_idle()
    job = Job.objects.get(pk=queued.jobs[0].pk)
    waiting = (job.state, job.attempts, job.last_error)
    runner.run_due(now=job.run_after)

    assert waiting == (
        Job.State.PENDING,
        1,
        "GitLab rate limit reached (HTTP 429); will retry",
    )
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert list(gitlab.notes[7]) == [9002]
    assert gitlab.calls("POST") == [
        f"POST {NOTES}/7/notes",
        f"POST {NOTES}/8/notes",
        f"POST {NOTES}/7/notes",
    ]


def test_it_writes_a_new_note_when_people_deleted_its_note(release, gitlab):
    request_release_feedback(release)
    runner.run_until_idle()
    del gitlab.notes[7][9001]

    request_release_feedback(release)
    runner.run_until_idle()

    assert list(gitlab.notes[7]) == [9003]
    mr7 = release.release_commits.get(commit__sha="a" * 40).commit.merge_request
    assert mr7.feedback_note_id == "9003"


def test_it_posts_nothing_while_there_is_nothing_to_report(org, project, repository):
    release = make_release(org, "3.0", [project])
    mr = make_merge_request(repository, 9)
    make_commit(repository, "c" * 40, release=release, merge_request=mr)

    job = request_merge_request_note(mr)
    runner.run_until_idle()

    job.refresh_from_db()
    assert job.result == {
        "note_id": "",
        "issues": 0,
        "skipped": "nothing to report yet",
    }
    mr.refresh_from_db()
    assert mr.feedback_note_id == ""


def test_it_limits_the_note_to_an_environment_when_asked(release, gitlab):
    project = release.projects.get()
    queue_payloads(
        project,
        [python_error(release="2.0", environment="staging", type_="TypeError")],
        received_at=T0 + 3 * HOUR,
    )
    digest_queued(now=T0 + 3 * HOUR)

    request_release_feedback(release, environment="staging")
    runner.run_until_idle()

    body = gitlab.notes[7][9001]
    assert "**1 new issue and 0 regressions** in `staging` since release" in body
    assert "TypeError" in body
    assert "KeyError" not in body


def test_it_does_not_queue_a_second_note_job_while_one_waits(release):
    mr = release.release_commits.get(commit__sha="a" * 40).commit.merge_request

    first = request_merge_request_note(mr)
    second = request_merge_request_note(mr)

    assert first.pk == second.pk
    assert Job.objects.filter(kind=NOTE_KIND).count() == 1


def test_it_skips_merge_requests_it_cannot_write_on(org, project, release, gitlab):
    plain = make_repository(org, "git", "https://git.example.com/x.git", name="x")
    mr = make_merge_request(plain, 1)
    make_commit(plain, "d" * 40, release=release, merge_request=mr)

    queued = request_release_feedback(release)

    assert len(queued.jobs) == 2
    assert queued.skipped == [
        (mr, "x is a plain git repository: there is no merge request to write on")
    ]
    with pytest.raises(FeedbackError, match="x is a plain git repository"):
        request_merge_request_note(mr)


def test_it_comments_on_github_pull_requests_and_edits_the_comment(
    org, project, release
):
    github = GitHubStandIn("ghp_feedback")
    github.start()
    try:
        repository = make_repository(
            org, "github", github.web_url, name="gh/backend", token="ghp_feedback"
        )
        pr = make_merge_request(repository, 12)
        make_commit(repository, "e" * 40, release=release, merge_request=pr)

        request_merge_request_note(pr)
        runner.run_until_idle()
        request_merge_request_note(pr)
        runner.run_until_idle()
    finally:
        github.stop()

    assert github.calls() == [
        "POST /api/v3/repos/acme/backend/issues/12/comments",
        "PATCH /api/v3/repos/acme/backend/issues/comments/9001",
    ]
    assert "### Fixtrail: errors after #12" in github.notes[12][9001]
    assert github.unexpected == []


def test_it_sweeps_for_missed_deploys_as_a_periodic_task(release):
    missed = _deploy(release)

    PERIODIC["releases.deploy_feedback_sweep"].run(timezone.now())

    job = Job.objects.get(kind=DEPLOY_KIND)
    assert job.key == f"mr-feedback:deploy:{missed.pk}"
    assert PERIODIC["releases.deploy_feedback_sweep"].seconds == 300
