"""From commits to the issue they caused and the commit that fixed it,
with the real tools: a git repository made with the git command, the real
sentry-cli creating releases, setting commits (``--local`` and by range)
and recording deploys against a live Fixtrail, and errors sent by the real
Python SDK from the app in that repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from fixtrail.issues.models import Activity, Issue, Status
from fixtrail.jobs.runner import run_until_idle
from fixtrail.releases.actions import add_repository
from fixtrail.releases.models import Commit, Release
from fixtrail.releases.suspects import suspect_commits
from tests.api.conftest import ApiClient, digest_events, issue_token
from tests.releases.gitrepo import BOB, DumbGitServer, GitRepo

SENTRY_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sentry-cli"
CLI_TIMEOUT_SECONDS = 60
SDK_TIMEOUT_SECONDS = 60

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CART_V1 = """\
DISCOUNTS = {"SPRING": 5}


def total(items, code=None):
    return sum(item["price"] for item in items)
"""
# The discount merge request: the last line raises KeyError for an
# unknown (or no) code.
CART_V2 = """\
DISCOUNTS = {"SPRING": 5}


def total(items, code=None):
    subtotal = sum(item["price"] for item in items)
    return subtotal - DISCOUNTS[code]
"""
# The fix knows "no code", but not every unknown code.
CART_V3 = CART_V2.replace('{"SPRING": 5}', '{"SPRING": 5, None: 0}')
CHECKOUT = """\
from shop.cart import total


def checkout(items, code=None):
    amount = total(items, code)
    return {"amount": amount}
"""
MAIN = """\
import sys

import sentry_sdk

from shop.checkout import checkout

sentry_sdk.init(dsn=sys.argv[1], release=sys.argv[2], default_integrations=False)
try:
    checkout([{"price": 10}], sys.argv[3] if len(sys.argv) > 3 else None)
except Exception:
    sentry_sdk.capture_exception()
sentry_sdk.flush(10)
"""


@pytest.fixture
def git_server(tmp_path):
    server = DumbGitServer(tmp_path / "served")
    (tmp_path / "served").mkdir(exist_ok=True)
    yield server
    server.close()


@pytest.fixture
def repo(tmp_path, git_server):
    repo = GitRepo(tmp_path / "shop")
    repo.write("shop/__init__.py", "")
    repo.write("shop/cart.py", CART_V1)
    repo.write("shop/checkout.py", CHECKOUT)
    repo.write("main.py", MAIN)
    repo.commit("Start the shop")
    # The remote sentry-cli names the repository after ("acme/shop").
    repo.git("remote", "add", "origin", f"{git_server.url}/acme/shop.git")
    return repo


@pytest.fixture
def cli(live_server, alice, project, repo, tmp_path):
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

    def run(*args: str) -> str:
        if not SENTRY_CLI.exists():
            pytest.skip("sentry-cli is not installed in .venv")
        done = subprocess.run(
            [str(SENTRY_CLI), *args],
            cwd=repo.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture
def send_error(live_server, project, project_key, repo):
    host = live_server.url.split("://", 1)[1]
    dsn = f"http://{project_key.public_key}@{host}/{project.pk}"

    def send(release: str, *args: str) -> None:
        subprocess.run(
            [sys.executable, "main.py", dsn, release, *args],
            cwd=repo.path,
            check=True,
            timeout=SDK_TIMEOUT_SECONDS,
            env={**os.environ, "PYTHONPATH": str(repo.path)},
        )
        # Ingest queued it; digest turns it into an issue.
        digest_events(project, [])

    return send


def test_it_finds_the_merge_request_that_broke_checkout_and_the_fix(
    cli, repo, git_server, project, org, send_error, live_server, alice
):
    url = git_server.publish(repo, "acme/shop.git")
    add_repository(org, project, provider="git", url=url)
    # 1.0: the first release, commits sent by sentry-cli from the work tree.
    cli("releases", "new", "shop@1.0")
    cli("releases", "set-commits", "shop@1.0", "--local")
    first = repo.head()

    # 1.1: a merge request that breaks checkout, and an unrelated change.
    repo.git("checkout", "--quiet", "-b", "discount")
    repo.write("shop/cart.py", CART_V2)
    repo.commit("Apply discount codes", author=BOB)
    repo.git("checkout", "--quiet", "main")
    merge = repo.merge(
        "discount",
        "Merge branch 'discount' into 'main'\n\nApply discount codes in the cart"
        "\n\nSee merge request acme/shop!7",
    )
    repo.write("README.md", "The shop.\n")
    readme = repo.commit("Describe the shop")
    git_server.publish(repo, "acme/shop.git")

    # By range: Fixtrail fetches the repository itself, in a job.
    cli("releases", "new", "shop@1.1")
    out = cli("releases", "set-commits", "shop@1.1", "--commit",
              f"acme/shop@{first}..{readme}")  # fmt: skip
    assert "acme/shop" in out
    assert run_until_idle() == 1
    cli("releases", "finalize", "shop@1.1")
    cli("deploys", "new", "--release", "shop@1.1", "-e", "production")

    send_error("shop@1.1")
    issue = Issue.objects.get()
    assert (issue.first_release, issue.short_id_display) == ("shop@1.1", "BACKEND-1")

    suspects = suspect_commits(issue)
    # The merge commit changed the crashing line (git blame, first parent);
    # the commit that created the file, in the release before, comes next;
    # the README commit touches no frame and is no suspect.
    assert [(s.commit.sha, s.release) for s in suspects] == [
        (merge, "shop@1.1"),
        (first, "shop@1.0"),
    ]
    assert suspects[0].blamed is True
    assert str(suspects[0].commit.merge_request) == "acme/shop!7"
    assert suspects[0].commit.merge_request.title == "Apply discount codes in the cart"
    assert suspects[0].commit.merge_request.url == f"{url[:-4]}/-/merge_requests/7"

    # Sentry's committers endpoint says the same.
    api = ApiClient(issue_token(alice))
    event_id = issue.events.get().event_id
    response = api.get(f"/api/0/projects/acme/backend/events/{event_id}/committers/")
    assert response.status_code == 200
    committers = response.json()["committers"]
    assert [c["author"]["email"] for c in committers] == [
        "ci@example.org",
        "alice@example.org",
    ]
    assert committers[0]["commits"][0]["id"] == merge
    assert committers[0]["commits"][0]["pullRequest"]["id"] == "7"

    # 1.2: a squash-merged fix that names the issue; --local sends it.
    repo.write("shop/cart.py", CART_V3)
    fix = repo.commit("Treat a missing discount code as none (#8)\n\nFixes backend-1")
    cli("releases", "new", "shop@1.2")
    cli("releases", "set-commits", "shop@1.2", "--local")
    issue.refresh_from_db()
    assert (issue.status, issue.resolved_in_commit) == (Status.RESOLVED, fix)
    assert Commit.objects.get(sha=fix).merge_request.number == 8

    # The same crash in the release holding the fix is a regression that
    # names the fixing merge request.
    send_error("shop@1.2", "WINTER")
    issue.refresh_from_db()
    assert (issue.status, issue.is_regressed) == (Status.UNRESOLVED, True)
    regression = Activity.objects.get(issue=issue, kind=Activity.Kind.REGRESSION)
    assert regression.data["release"] == "shop@1.2"
    assert regression.data["commit"] == fix
    assert regression.data["merge_request"] == "acme/shop!8"
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/issues/{issue.pk}/").content.decode()
    assert "in release shop@1.2, despite the fix in acme/shop!8" in page
    assert "Fix that did not hold" in page
    assert "Introduced by" in page

    listed = cli("releases", "list")
    assert "shop@1.2" in listed and "shop@1.1" in listed
    assert set(Release.objects.values_list("version", flat=True)) == {
        "shop@1.0",
        "shop@1.1",
        "shop@1.2",
    }
