"""``fixtrail mrnotes``, called in-process the way the CLI calls it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fixtrail.jobs import runner
from tests.builders import make_repository
from tests.releases.standins import GitLabStandIn
from tests.releases.support import seed_release

TOKEN = "glpat-command-token"


@pytest.fixture
def gitlab():
    standin = GitLabStandIn(TOKEN)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def release(org, project, gitlab):
    repository = make_repository(org, "gitlab", gitlab.web_url, token=TOKEN)
    return seed_release(org, project, repository)


def _call(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("mrnotes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_queues_the_notes_of_a_release(release, gitlab):
    out, err = _call("send", "--org", "acme", "--release", "2.0")
    runner.run_until_idle()

    assert out.startswith("queued 2 notes for release 2.0 (jobs ")
    assert err == ""
    assert sorted(gitlab.notes) == [7, 8]


def test_it_lists_merge_requests_with_their_note(release, gitlab):
    _call("send", "--org", "acme", "--release", "2.0", "--environment", "production")
    runner.run_until_idle()

    out, _ = _call("list", "--org", "acme", "--release", "2.0")

    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["number"], r["note_id"], r["note_job"]) for r in rows] == [
        (7, "9001", "done"),
        (8, "9002", "done"),
    ]
    assert rows[0]["note_error"] == ""
    assert rows[0]["note_sent_at"] is not None


def test_it_refuses_an_unknown_release(release):
    with pytest.raises(CommandError, match="no release '9.9' in organization 'acme'"):
        _call("send", "--org", "acme", "--release", "9.9")


def test_it_does_not_reach_another_organizations_release(release, charlies_org):
    with pytest.raises(CommandError, match="no release '2.0' in organization"):
        _call("send", "--org", "umbrella", "--release", "2.0")
