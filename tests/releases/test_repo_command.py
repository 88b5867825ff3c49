"""``fixtrail repo add|list|remove``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fixtrail.releases.models import Repository

pytestmark = pytest.mark.django_db


def _repo(*args: str) -> str:
    out = StringIO()
    call_command("repo", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_repository_with_a_sealed_token(project):
    out = _repo(
        "add", "--project", "acme/backend", "--provider", "gitlab",
        "--url", "https://gitlab.example.com/acme/shop", "--token", "glpat-123",
    )  # fmt: skip
    row = json.loads(out)
    assert (row["name"], row["provider"], row["has_token"], row["created"]) == (
        "acme/shop",
        "gitlab",
        True,
        True,
    )
    assert "glpat-123" not in out
    repository = Repository.objects.get()
    assert repository.token == "glpat-123"
    assert list(repository.projects.all()) == [project]


def test_it_updates_the_url_when_added_again(project):
    _repo("add", "--project", "acme/backend", "--provider", "git",
          "--url", "https://git.example.com/acme/shop.git")  # fmt: skip
    out = _repo("add", "--project", "acme/backend", "--provider", "git",
                "--url", "https://mirror.example.com/acme/shop.git")  # fmt: skip
    assert json.loads(out)["created"] is False
    assert Repository.objects.get().url == "https://mirror.example.com/acme/shop.git"


def test_it_lists_repositories(project):
    _repo("add", "--project", "acme/backend", "--provider", "github",
          "--url", "https://github.com/acme/web")  # fmt: skip
    [line] = _repo("list").splitlines()
    assert json.loads(line) == {
        "id": Repository.objects.get().pk,
        "organization": "acme",
        "name": "acme/web",
        "provider": "github",
        "url": "https://github.com/acme/web",
        "has_token": False,
        "projects": ["backend"],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "acme/nope", "--provider", "git", "--url", "https://x.org/a"],
         "no project 'acme/nope' (write it as ORG/PROJECT)"),
        (["--project", "acme/backend", "--provider", "git", "--url", "file:///etc"],
         "The repository URL must be an http(s) URL."),
        (["--project", "acme/backend", "--provider", "git", "--url", "http://["],
         "The repository URL must be an http(s) URL."),
        (["--project", "acme/backend", "--provider", "git", "--url", "https://a:99999/"],
         "The repository URL must be an http(s) URL."),
    ],
)  # fmt: skip
def test_it_refuses_bad_input(project, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        _repo("add", *args)
    assert Repository.objects.count() == 0


def test_it_removes_a_repository(project):
    _repo("add", "--project", "acme/backend", "--provider", "git",
          "--url", "https://git.example.com/acme/shop.git")  # fmt: skip
    assert _repo("remove", "--project", "acme/backend", "acme/shop") == (
        "unlinked acme/shop\n"
    )
    assert Repository.objects.count() == 0


def test_it_runs_as_fixtrail_repo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env["FIXTRAIL_DATA_DIR"] = str(tmp_path)
    fixtrail = [sys.executable, "-m", "fixtrail.cli"]
    subprocess.run(
        [*fixtrail, "bootstrap", "--org", "acme", "--project", "backend",
         "--email", "ops@example.com", "--password", "a long password 123"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    added = subprocess.run(
        [*fixtrail, "repo", "add", "--project", "acme/backend", "--provider",
         "gitlab", "--url", "https://gitlab.example.com/acme/shop"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(
        [*fixtrail, "repo", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(listed.stdout)["name"] == "acme/shop"
