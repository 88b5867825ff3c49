"""The real sentry-cli (the PyPI package) against a live Fixtrail: the
commands teams run in scripts must work unchanged with only SENTRY_URL
and a Fixtrail token.

Each command runs as a process with a throw-away HOME (no ~/.sentryclirc)
and SENTRY_LOAD_DOTENV=0, so only the environment set here configures it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fixtrail.issues.models import Issue, Status
from tests.api.conftest import digest_events, issue_token, python_error
from tests.builders import make_project

SENTRY_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sentry-cli"
# The slowest command here answers in well under a second; the margin
# covers a loaded CI machine.
CLI_TIMEOUT_SECONDS = 60

pytestmark = pytest.mark.live


@pytest.fixture
def sentry_cli(live_server, alice, project, tmp_path):
    """Return run(*args) -> CompletedProcess for sentry-cli as alice."""
    if not SENTRY_CLI.exists():
        pytest.skip("sentry-cli is not installed in .venv")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SENTRY_URL": live_server.url,
        "SENTRY_AUTH_TOKEN": issue_token(alice, name="sentry-cli"),
        "SENTRY_ORG": "acme",
        "SENTRY_PROJECT": "backend",
        "SENTRY_LOAD_DOTENV": "0",
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
    }

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SENTRY_CLI), *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    return run


@pytest.fixture
def issues(project):
    digest_events(project, [python_error(type_="KeyError", value="'sku'")])
    digest_events(project, [python_error(type_="ValueError")])
    return {issue.type: issue for issue in Issue.objects.all()}


def test_it_passes_the_auth_check_of_info(sentry_cli, live_server):
    result = sentry_cli("info")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:6] == [
        f"Sentry Server: {live_server.url}",
        "Default Organization: acme",
        "Default Project: backend",
        "",
        "Authentication Info:",
        "  Method: Auth Token",
    ]
    assert "  User: alice@example.org" in result.stdout
    assert "    - event:admin" in result.stdout
    assert "failure on authentication" not in result.stdout


def test_it_reports_a_bad_token_in_info(sentry_cli):
    result = sentry_cli("info", SENTRY_AUTH_TOKEN="sntryu_" + "0" * 64)
    assert result.returncode == 1
    # sentry-cli prints the API's {"detail": ...} message.
    assert "sentry reported an error: Invalid token (http status: 401)" in result.stderr


def test_it_lists_projects(sentry_cli, org, project):
    make_project(org, "frontend")
    result = sentry_cli("projects", "list")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[2].strip() for row in rows] == [
        "Slug",
        "backend",
        "frontend",
    ]
    assert rows[1].split("|")[1].strip() == str(project.pk)


def test_it_lists_issues(sentry_cli, issues):
    result = sentry_cli("issues", "list")
    assert result.returncode == 0, result.stderr
    rows = [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("| ")
    ]
    assert rows[0] == ["Issue ID", "Short ID", "Title", "Last seen", "Status", "Level"]
    value_error = issues["ValueError"]
    assert rows[1] == [
        str(value_error.pk),
        f"BACKEND-{value_error.short_id}",
        "ValueError: bad thing",
        "2026-03-02T12:30:00.000000Z",
        "unresolved",
        "error",
    ]
    assert len(rows) == 3


def test_it_resolves_an_issue_by_id(sentry_cli, issues):
    target, other = issues["KeyError"], issues["ValueError"]
    result = sentry_cli("issues", "resolve", "-i", str(target.pk))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Updated matching issues.\n  new status: resolved\n"
    target.refresh_from_db()
    other.refresh_from_db()
    assert (target.status, other.status) == (Status.RESOLVED, Status.UNRESOLVED)


def test_it_mutes_issues(sentry_cli, issues):
    target = issues["KeyError"]
    result = sentry_cli("issues", "mute", "-i", str(target.pk))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Updated matching issues.\n  new status: muted\n"
    target.refresh_from_db()
    assert (target.status, target.ignore_until, target.ignore_count) == (
        Status.IGNORED,
        None,
        None,
    )


def test_it_unresolves_issues_by_status(sentry_cli, issues):
    for issue in issues.values():
        issue.status = Status.RESOLVED
        issue.save(update_fields=["status"])
    result = sentry_cli("issues", "unresolve", "-s", "resolved")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Updated matching issues.\n  new status: unresolved\n"
    assert set(Issue.objects.values_list("status", flat=True)) == {Status.UNRESOLVED}


def test_it_fails_cleanly_for_a_project_of_another_organization(
    sentry_cli, issues, charlies_project
):
    result = sentry_cli("issues", "list", "--org", "umbrella", "--project", "secret")
    assert result.returncode == 1
    assert "Project not found" in result.stderr


def test_it_sends_an_event_that_becomes_an_issue(
    sentry_cli, live_server, project, project_key
):
    netloc = urlsplit(live_server.url).netloc
    dsn = f"http://{project_key.public_key}@{netloc}/{project.pk}"
    result = sentry_cli(
        "send-event", "-m", "Disk almost full", "--release", "7.1", SENTRY_DSN=dsn
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Event dispatched")
    # Ingest only queued it; digest turns it into an issue.
    digest_events(project, [])
    listed = sentry_cli("issues", "list")
    assert "Disk almost full" in listed.stdout
    issue = Issue.objects.get()
    assert (issue.title, issue.first_release) == ("Disk almost full", "7.1")


def test_it_shows_each_projects_team_in_projects_list(sentry_cli, org, project):
    from fixtrail.accounts.teams import create_team, give_project

    give_project(create_team(org, "Payments Crew"), project)
    make_project(org, "frontend")
    result = sentry_cli("projects", "list")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines]
    slug, team = rows[0].index("Slug"), rows[0].index("Team")
    teams = {row[slug]: row[team] for row in rows[1:]}
    assert teams["backend"] == "Payments Crew"
    assert teams["frontend"] in ("", "-")


def test_it_reports_an_endpoint_fixtrail_lacks_in_words(sentry_cli):
    # An endpoint that does not exist answers a JSON 404, never the HTML
    # CSRF page sentry-cli reported as "unknown error (http status: 403)".
    result = sentry_cli("releases", "new", "9.9.9")
    assert "unknown error" not in result.stderr
