"""The git provider: a bare mirror fetched over HTTP with the git command,
commits of a range with their files, blame, and its refusals."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import override_settings

from fixtrail.jobs.models import Job
from fixtrail.jobs.runner import run_until_idle
from fixtrail.releases.commits import Ref, set_release_refs
from fixtrail.releases.providers.base import ProviderError, provider_for
from fixtrail.releases.providers.git import mirror_path
from tests.builders import make_release, make_repository
from tests.releases.gitrepo import BOB, DumbGitServer, GitRepo

pytestmark = pytest.mark.django_db

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.fixture
def server(tmp_path):
    (tmp_path / "served").mkdir()
    server = DumbGitServer(tmp_path / "served")
    yield server
    server.close()


@pytest.fixture
def repo(tmp_path):
    repo = GitRepo(tmp_path / "work")
    repo.write("app/cart.py", "A = 1\nB = 2\n")
    repo.write("README.md", "hi\n")
    repo.commit("Start")
    return repo


@pytest.fixture
def repository(org, project, repo, server):
    url = server.publish(repo, "acme/shop.git")
    return make_repository(org, provider="git", url=url)


def test_it_reads_the_commits_of_a_range_with_their_files(repo, server, repository):
    first = repo.head()
    repo.write("app/cart.py", "A = 1\nB = 3\n")
    repo.write("app/new.py", "")
    (repo.path / "README.md").unlink()
    second = repo.commit("Change B\n\nBecause.", author=BOB)
    server.publish(repo, "acme/shop.git")
    [commit] = provider_for(repository).commits_between(first, second)
    assert (commit.sha, commit.message) == (second, "Change B\n\nBecause.")
    assert (commit.author_name, commit.author_email) == BOB
    assert commit.authored_at.isoformat() == "2026-03-01T10:02:00+00:00"
    assert sorted(commit.files) == [
        ("README.md", "D"),
        ("app/cart.py", "M"),
        ("app/new.py", "A"),
    ]


def test_it_reads_a_first_release_up_to_the_default_depth(repo, repository):
    [commit] = provider_for(repository).commits_between(None, repo.head())
    assert commit.message == "Start"


def test_it_blames_the_line_on_its_commit(repo, server, repository):
    first = repo.head()
    repo.write("app/cart.py", "A = 1\nB = 3\n")
    second = repo.commit("Change B")
    server.publish(repo, "acme/shop.git")
    provider = provider_for(repository)
    provider.fetch()
    assert provider.blame_line(second, "app/cart.py", 1) == first
    assert provider.blame_line(second, "app/cart.py", 2) == second
    assert provider.blame_line(second, "app/nope.py", 2) is None


def test_it_never_stores_the_token_in_the_mirror(org, project, repo, server):
    url = server.publish(repo, "acme/shop.git")
    repository = make_repository(org, provider="git", url=url, token="s3cret-token")
    provider_for(repository).commits_between(None, repo.head())
    config = (mirror_path(repository) / "config").read_text()
    assert "s3cret-token" not in config


@pytest.mark.parametrize("ref", ["--upload-pack=touch", "a..b", "x y", ""])
def test_it_refuses_refs_that_are_not_revisions(repository, ref):
    with pytest.raises(ProviderError, match="not a git revision"):
        provider_for(repository).commits_between(None, ref)


def test_it_refuses_a_denied_network(repository):
    with (
        override_settings(OUTBOUND_DENY_NETWORKS=LOOPBACK),
        pytest.raises(ProviderError, match="a denied network") as caught,
    ):
        provider_for(repository).commits_between(None, "main")
    assert caught.value.permanent is True


def test_it_fails_the_job_with_the_reason(org, repository):
    release = make_release(org)
    with override_settings(OUTBOUND_DENY_NETWORKS=LOOPBACK):
        set_release_refs(release, [Ref("acme/shop", "main", "")])
        run_until_idle()
    job = Job.objects.get()
    assert job.state == Job.State.FAILED
    assert "a denied network (FIXTRAIL_OUTBOUND_DENY)" in job.last_error
    assert release.release_commits.count() == 0


def test_it_retries_an_unreachable_repository(org, project):
    repository = make_repository(
        org, provider="git", url="http://127.0.0.1:9/acme/gone.git"
    )
    set_release_refs(make_release(org), [Ref(repository.name, "main", "")])
    run_until_idle()
    job = Job.objects.get()
    # Reaching the host can work next time: the job waits for a retry.
    assert (job.state, job.attempts) == (Job.State.PENDING, 1)
    assert job.last_error.startswith("git fetch failed:")


def test_it_hides_the_token_in_errors(org, project):
    repository = make_repository(
        org, provider="git", url="http://127.0.0.1:9/gone.git", token="s3cret/tok"
    )
    with pytest.raises(ProviderError) as caught:
        provider_for(repository).commits_between(None, "main")
    assert caught.value.message.startswith("git fetch failed:")
    assert "s3cret" not in caught.value.message
