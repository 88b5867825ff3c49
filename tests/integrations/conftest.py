"""Stand-in trackers and integrations connected to them."""

from __future__ import annotations

import pytest

from fixtrail.integrations.connections import add_integration
from tests.integrations.stand_ins import GitHub, GitLab, Jira

GITLAB_TOKEN = "glpat-test-token"
GITHUB_TOKEN = "github_pat_test"
JIRA_TOKEN = "jira-api-token"


@pytest.fixture
def gitlab():
    server = GitLab(token=GITLAB_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def github():
    server = GitHub(token=GITHUB_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def jira():
    server = Jira(token=JIRA_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def gitlab_integration(org, gitlab):
    return add_integration(
        org,
        "gitlab",
        {"url": gitlab.url, "token": GITLAB_TOKEN, "target": "group/app"},
        user=None,
    )


@pytest.fixture
def github_integration(org, github):
    return add_integration(
        org,
        "github",
        {"api_url": github.url, "token": GITHUB_TOKEN, "repo": "acme/app"},
        user=None,
    )


@pytest.fixture
def jira_integration(org, jira):
    return add_integration(
        org,
        "jira",
        {
            "site": jira.url,
            "email": "ops@example.org",
            "token": JIRA_TOKEN,
            "project_key": "OPS",
        },
        user=None,
    )
