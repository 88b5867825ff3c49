from __future__ import annotations

import pytest

from fixtrail.issues.models import Issue
from fixtrail.jobs import runner
from fixtrail.jobs.models import Job
from fixtrail.releases.feedback import NOTE_KIND
from fixtrail.releases.models import MergeRequest
from tests.builders import make_commit, make_merge_request, make_repository
from tests.releases.standins import GitLabStandIn
from tests.releases.support import SHA_7, seed_release

TOKEN = "glpat-views-token"


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def repository(org, project, gitlab):
    return make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)


@pytest.fixture
def mr(org, project, repository):
    release = seed_release(org, project, repository)
    mr = release.release_commits.get(commit__sha=SHA_7).commit.merge_request
    mr.author = "dana"
    mr.url = "https://gitlab.example.com/acme/backend/-/merge_requests/7"
    mr.save()
    return mr


def _url(mr: MergeRequest, tail: str = "") -> str:
    return f"/organizations/acme/merge-requests/{mr.pk}/{tail}"


def test_it_shows_a_merge_request_with_its_commits_and_issues(client, alice, mr):
    client.force_login(alice)

    response = client.get(_url(mr))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Change 7</h1>" in page
    assert (
        '<a href="https://gitlab.example.com/acme/backend/-/merge_requests/7" '
        'rel="nofollow noopener noreferrer" target="_blank">!7</a>'
    ) in page
    assert "<dd>dana</dd>" in page
    assert f"<code>{SHA_7[:12]}</code>" in page
    key_error = Issue.objects.get(type="KeyError")
    value_error = Issue.objects.get(type="ValueError")
    assert f'<a href="/issues/{key_error.pk}/">{key_error.short_id_display}</a>' in page
    assert f'<a href="/issues/{value_error.pk}/">' in page
    assert '<span class="badge badge-regressed">regressed</span>' in page
    assert "ZeroDivisionError" not in page
    assert "No note written yet." in page
    assert "Write the note now</button>" in page


def test_it_lists_the_organizations_merge_requests(client, vera, mr):
    client.force_login(vera)

    response = client.get("/organizations/acme/merge-requests/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<a href="{_url(mr)}">acme/backend!7</a>' in page
    assert "<td>Change 8</td>" in page


def test_it_queues_the_note_for_a_member(client, bob, mr, gitlab):
    client.force_login(bob)

    response = client.post(_url(mr, "note/"), follow=True)

    assert response.redirect_chain == [(_url(mr), 302)]
    assert "The note is queued" in response.content.decode()
    job = Job.objects.get(kind=NOTE_KIND)
    assert job.payload == {"merge_request": mr.pk, "environment": ""}
    runner.run_until_idle()
    mr.refresh_from_db()
    assert mr.feedback_note_id == "9001"
    page = client.get(_url(mr)).content.decode()
    assert "(note 9001); Fixtrail edits this note in place." in page
    assert "Last run: <strong>Done</strong>" in page


def test_it_shows_why_the_last_note_failed(client, alice, mr, repository):
    repository.token = "revoked"
    repository.save()
    client.force_login(alice)
    client.post(_url(mr, "note/"))
    runner.run_until_idle()

    page = client.get(_url(mr)).content.decode()

    assert "Last run: <strong>Failed</strong>" in page
    assert (
        '<p class="flash error note-error">GitLab refused the access token '
        "(HTTP 401: 401 Unauthorized): set a valid token on the repository</p>"
    ) in page


def test_it_says_why_no_note_can_be_written(client, alice, org, project):
    plain = make_repository(org, "git", "https://git.example.com/x.git", name="x")
    mr = make_merge_request(plain, 3)
    make_commit(plain, "f" * 40, merge_request=mr)
    client.force_login(alice)

    page = client.get(_url(mr)).content.decode()
    response = client.post(_url(mr, "note/"), follow=True)

    assert "x is a plain git repository: there is no merge request" in page
    assert "Write the note now" not in page
    assert "x is a plain git repository" in response.content.decode()
    assert Job.objects.filter(kind=NOTE_KIND).count() == 0


def test_it_escapes_what_the_code_host_said(client, alice, repository):
    mr = make_merge_request(
        repository,
        5,
        title="<script>alert(1)</script>",
        author="<b>eve</b>",
        url="javascript:alert(1)",
    )
    client.force_login(alice)

    page = client.get(_url(mr)).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page
    assert 'href="javascript:' not in page


def test_it_lets_viewers_read_but_not_write(client, vera, mr):
    client.force_login(vera)

    page = client.get(_url(mr))
    response = client.post(_url(mr, "note/"))

    assert page.status_code == 200
    assert "Write the note now" not in page.content.decode()
    assert response.status_code == 403
    assert Job.objects.count() == 0


@pytest.mark.parametrize("tail", ["", "note/"])
def test_it_answers_404_to_outsiders(client, charlie, charlies_org, mr, tail):
    client.force_login(charlie)

    response = client.post(_url(mr, tail)) if tail else client.get(_url(mr, tail))
    listing = client.get("/organizations/acme/merge-requests/")

    assert response.status_code == 404
    assert listing.status_code == 404


def test_it_answers_404_for_a_merge_request_of_another_organization(
    client, charlie, charlies_org, mr
):
    client.force_login(charlie)

    response = client.get(f"/organizations/umbrella/merge-requests/{mr.pk}/")

    assert response.status_code == 404


def test_it_sends_visitors_to_log_in(client, mr):
    response = client.get(_url(mr))

    assert response.status_code == 302
    assert response["Location"].startswith("/login")
