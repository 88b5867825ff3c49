"""The real sentry-cli's release workflow against a live Fixtrail: the
commands teams run in CI work unchanged with SENTRY_URL and a token."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import run_until_idle
from fixtrail.releases.actions import add_repository
from fixtrail.releases.models import Deploy, Release
from tests.api.conftest import issue_token
from tests.builders import make_project
from tests.releases.gitrepo import DumbGitServer, GitRepo

SENTRY_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sentry-cli"
CLI_TIMEOUT_SECONDS = 60

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def git_server(tmp_path):
    (tmp_path / "served").mkdir()
    server = DumbGitServer(tmp_path / "served")
    yield server
    server.close()


@pytest.fixture
def repo(tmp_path, git_server):
    repo = GitRepo(tmp_path / "shop")
    repo.write("shop/cart.py", "def total(items):\n    return 0\n")
    repo.commit("Start the shop")
    repo.git("remote", "add", "origin", f"{git_server.url}/acme/shop.git")
    return repo


@pytest.fixture
def cli(live_server, alice, project, tmp_path, repo):
    """Return run(*args) -> CompletedProcess of sentry-cli as alice, run
    in the git work tree."""
    if not SENTRY_CLI.exists():
        pytest.skip("sentry-cli is not installed in .venv")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SENTRY_URL": live_server.url,
        "SENTRY_AUTH_TOKEN": issue_token(alice, name="ci"),
        "SENTRY_ORG": "acme",
        "SENTRY_PROJECT": "backend",
        "SENTRY_LOAD_DOTENV": "0",
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
    }

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SENTRY_CLI), *args],
            cwd=repo.path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    return run


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_it_creates_a_release(cli, project):
    assert _ok(cli("releases", "new", "shop@2.0")) == "Created release shop@2.0\n"
    release = Release.objects.get()
    assert (release.version, release.released_at) == ("shop@2.0", None)
    assert release.started_at is not None
    assert list(release.projects.all()) == [project]


def test_it_creates_a_release_again_without_error(cli):
    _ok(cli("releases", "new", "shop@2.0"))
    assert _ok(cli("releases", "new", "shop@2.0")) == "Created release shop@2.0\n"
    assert Release.objects.count() == 1


def test_it_finalizes_a_release(cli):
    _ok(cli("releases", "new", "shop@2.0"))
    assert (
        _ok(cli("releases", "finalize", "shop@2.0")) == "Finalized release shop@2.0\n"
    )
    assert Release.objects.get().released_at is not None


# sentry-cli itself refuses "/" in versions; these are the characters it
# does send, percent-encoded in the path.
@pytest.mark.parametrize("version", ["shop@2.0+build.7", "2.0 rc1", "v2#3?x=%41"])
def test_it_keeps_versions_with_special_characters(cli, version):
    _ok(cli("releases", "new", version))
    info = _ok(cli("releases", "info", version))
    assert version in info
    assert Release.objects.get().version == version
    deleted = _ok(cli("releases", "delete", version))
    assert deleted == f"Deleted release {version}!\n"
    assert Release.objects.count() == 0


def test_it_lists_releases(cli, org):
    _ok(cli("releases", "new", "shop@1.0", "--finalize"))
    _ok(cli("releases", "new", "shop@2.0"))
    raw = _ok(cli("releases", "list", "--raw"))
    assert raw == "shop@2.0\nshop@1.0\n"
    table = _ok(cli("releases", "list"))
    assert "(unreleased)" in table and "shop@1.0" in table


def test_it_lists_only_the_projects_releases(cli, org):
    frontend = make_project(org, "frontend")
    _ok(cli("releases", "new", "shop@1.0"))
    _ok(cli("releases", "new", "web@1.0", "-p", "frontend"))
    assert _ok(cli("releases", "list", "--raw")) == "shop@1.0\n"
    assert _ok(cli("releases", "list", "--raw", "-p", "frontend")) == "web@1.0\n"
    assert list(Release.objects.get(version="web@1.0").projects.all()) == [frontend]


def test_it_shows_release_info_with_commits(cli, repo):
    _ok(cli("releases", "new", "shop@1.0"))
    _ok(cli("releases", "set-commits", "shop@1.0", "--local"))
    info = _ok(cli("releases", "info", "shop@1.0", "--show-commits"))
    assert repo.head() in info


def test_it_fails_info_for_an_unknown_release(cli):
    assert cli("releases", "info", "nope").returncode == 1


def test_it_deletes_nothing_for_an_unknown_release(cli):
    out = _ok(cli("releases", "delete", "nope"))
    assert out == "Did nothing. Release with this version (nope) does not exist.\n"


def test_it_proposes_the_head_commit_as_version(cli, repo):
    assert _ok(cli("releases", "propose-version")) == repo.head() + "\n"


def test_it_sets_commits_from_the_local_work_tree(cli, repo):
    first = repo.head()
    repo.write("shop/cart.py", "def total(items):\n    return 1\n")
    second = repo.commit("Count one")
    _ok(cli("releases", "new", "shop@1.0"))
    out = _ok(cli("releases", "set-commits", "shop@1.0", "--local"))
    assert out.endswith("Success! Set commits for release shop@1.0\n")
    release = Release.objects.get()
    rows = release.release_commits.order_by("order").select_related("commit")
    assert [r.commit.sha for r in rows] == [second, first]
    assert list(rows[0].commit.files.values_list("path", "change")) == [
        ("shop/cart.py", "M")
    ]


def test_it_sets_commits_of_the_next_release_from_the_previous_one(cli, repo):
    _ok(cli("releases", "new", "shop@1.0"))
    _ok(cli("releases", "set-commits", "shop@1.0", "--local"))
    repo.write("shop/cart.py", "def total(items):\n    return 1\n")
    second = repo.commit("Count one")
    _ok(cli("releases", "new", "shop@1.1"))
    _ok(cli("releases", "set-commits", "shop@1.1", "--local"))
    release = Release.objects.get(version="shop@1.1")
    # sentry-cli read previous-with-commits and sent only the new commit.
    assert [r.commit.sha for r in release.release_commits.all()] == [second]


def test_it_refuses_a_range_of_an_unknown_repository(cli, org, project, git_server):
    add_repository(org, project, provider="git", url=f"{git_server.url}/acme/shop.git")
    _ok(cli("releases", "new", "shop@1.0"))
    result = cli("releases", "set-commits", "shop@1.0", "--commit", "other/x@abc123")
    assert result.returncode == 1
    assert "Unknown repo 'other/x'" in result.stderr


def test_it_reads_a_range_in_a_job(cli, org, project, repo, git_server):
    first = repo.head()
    repo.write("shop/cart.py", "def total(items):\n    return 1\n")
    second = repo.commit("Count one")
    add_repository(
        org, project, provider="git", url=git_server.publish(repo, "acme/shop.git")
    )
    _ok(cli("releases", "new", "shop@1.0"))
    _ok(
        cli(
            "releases",
            "set-commits",
            "shop@1.0",
            "--commit",
            f"acme/shop@{first}..{second}",
        )
    )
    release = Release.objects.get()
    # Only the head is known until the job has read the range.
    assert [r.commit.sha for r in release.release_commits.all()] == [second]
    assert Job.objects.get().kind == "releases.read_commits"
    assert run_until_idle() == 1
    commit = release.release_commits.get().commit
    assert (commit.sha, commit.message, commit.author_email) == (
        second,
        "Count one",
        "alice@example.org",
    )
    assert Job.objects.get().state == Job.State.DONE


def test_it_finds_the_head_with_auto(cli, org, project, repo, git_server):
    url = git_server.publish(repo, "acme/shop.git")
    add_repository(org, project, provider="git", url=url)
    _ok(cli("releases", "new", "shop@1.0"))
    out = _ok(cli("releases", "set-commits", "shop@1.0", "--auto"))
    assert "acme/shop" in out
    run_until_idle()
    release = Release.objects.get()
    assert [r.commit.sha for r in release.release_commits.all()] == [repo.head()]
    assert release.release_commits.get().commit.message == "Start the shop"


def test_it_records_and_lists_deploys(cli):
    _ok(cli("releases", "new", "shop@1.0"))
    out = _ok(cli("deploys", "new", "-r", "shop@1.0", "-e", "production", "-n", "blue"))
    assert out == "Created new deploy blue for 'production'\n"
    deploy = Deploy.objects.get()
    assert (deploy.environment, deploy.name) == ("production", "blue")
    listed = _ok(cli("deploys", "list", "-r", "shop@1.0"))
    assert "production" in listed and "blue" in listed


def test_it_refuses_a_deploy_of_an_unknown_release(cli):
    result = cli("deploys", "new", "-r", "nope", "-e", "production")
    assert result.returncode == 1
    assert Deploy.objects.count() == 0


def test_it_lists_repositories(cli, org, project, git_server):
    add_repository(org, project, provider="git", url=f"{git_server.url}/acme/shop.git")
    out = _ok(cli("repos", "list"))
    assert "acme/shop" in out and f"{git_server.url}/acme/shop.git" in out
