"""The organization page that runs the import as a durable job."""

from __future__ import annotations

import json

import pytest

from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import run_until_idle
from fixtrail.projects.models import Project

URL = "/organizations/acme/import/sentry/"

pytestmark = pytest.mark.django_db


def _post(client, source, **overrides):
    data = {"url": source.url, "token": source.token, "org": "acme", "issues": "on"}
    return client.post(URL, data | overrides)


def test_it_imports_in_a_job_and_shows_the_result(alice_client, project, source):
    response = _post(alice_client, source)

    assert response.status_code == 302
    [job] = Job.objects.all()
    # The token is only in the payload, and only sealed.
    assert source.token not in json.dumps(job.payload)
    assert job.payload["token"]

    run_until_idle()

    job.refresh_from_db()
    assert job.state == "done"
    assert job.result["projects"] == 2
    assert job.result["issues"] == 1
    assert "token" not in job.payload
    assert sorted(
        Project.objects.filter(organization__slug="acme").values_list("slug", flat=True)
    ) == ["backend", "shop", "web"]
    page = alice_client.get(URL).content.decode()
    assert "2 teams, 2 projects, 3 keys, 2 members, 2 rules, 1 issues" in page


def test_it_shows_a_refused_token_and_forgets_it(alice_client, project, source):
    _post(alice_client, source, token="sntrys_wrong")

    run_until_idle()

    job = Job.objects.get()
    assert job.state == "failed"
    assert job.last_error.endswith("the token was refused (401)")
    assert "token" not in job.payload
    assert "the token was refused (401)" in alice_client.get(URL).content.decode()


def test_it_refuses_bad_input(alice_client, project):
    response = alice_client.post(URL, {"url": "ftp:/x", "token": "", "org": "a b"})

    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert Job.objects.count() == 0


def test_it_is_for_admins_only(client, bob, project):
    client.force_login(bob)

    assert client.get(URL).status_code == 403


def test_it_hides_the_page_from_outsiders(client, charlie, project):
    client.force_login(charlie)

    assert client.get(URL).status_code == 404


def test_it_is_linked_from_the_members_page(alice_client, project):
    page = alice_client.get("/organizations/acme/members/").content.decode()

    assert f'href="{URL}"' in page
