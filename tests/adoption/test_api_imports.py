"""``/api/v1/organizations/{org}/imports/``: start an import, read its state."""

from __future__ import annotations

import json

import pytest

from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import run_until_idle
from tests.api.conftest import ApiClient, issue_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/organizations/acme/imports"


def _body(source, **overrides) -> dict:
    return {"url": source.url, "token": source.token, "org": "acme"} | overrides


def test_it_starts_an_import_and_reports_its_counts(alice, project, source):
    api = ApiClient(issue_token(alice))

    response = api.post_json(f"{URL}/sentry", _body(source, issues=True))

    assert response.status_code == 202
    started = response.json()
    assert started["state"] == "pending"
    assert source.token not in json.dumps(started)
    run_until_idle()
    done = api.get(f"{URL}/{started['id']}").json()
    assert done["state"] == "done"
    assert done["result"]["projects"] == 2
    assert done["result"]["issues"] == 1
    assert "token" not in Job.objects.get().payload


def test_it_refuses_a_bad_url(alice, project, source):
    api = ApiClient(issue_token(alice))

    response = api.post_json(f"{URL}/sentry", _body(source, url="file:///etc"))

    assert response.status_code == 400
    assert response.json() == {"detail": "url must be an http(s) URL."}
    assert Job.objects.count() == 0


def test_it_is_for_admins_only(bob, project, source):
    response = ApiClient(issue_token(bob)).post_json(f"{URL}/sentry", _body(source))

    assert response.status_code == 403
    assert Job.objects.count() == 0


def test_it_hides_imports_from_outsiders(charlie, project, source):
    response = ApiClient(issue_token(charlie)).post_json(f"{URL}/sentry", _body(source))

    assert response.status_code == 404
