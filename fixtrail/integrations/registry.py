"""The trackers Fixtrail can file tickets in, one row each.

Adding a tracker means adding a sub-package with the same modules as its
siblings (client, forms, webhooks) and a row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fixtrail.integrations.github import client as github_client
from fixtrail.integrations.github import forms as github_forms
from fixtrail.integrations.github import webhooks as github_webhooks
from fixtrail.integrations.gitlab import client as gitlab_client
from fixtrail.integrations.gitlab import forms as gitlab_forms
from fixtrail.integrations.gitlab import webhooks as gitlab_webhooks
from fixtrail.integrations.jira import client as jira_client
from fixtrail.integrations.jira import forms as jira_forms
from fixtrail.integrations.jira import webhooks as jira_webhooks
from fixtrail.integrations.models import Kind


@dataclass(frozen=True)
class Tracker:
    kind: str
    label: str
    client: type
    form: type
    parse_reference: Callable[[str, str], str]
    verify: Callable
    parse: Callable
    # The header that carries the webhook's secret or signature.
    secret_header: str


TRACKERS: dict[str, Tracker] = {
    Kind.GITLAB: Tracker(
        Kind.GITLAB,
        "GitLab",
        gitlab_client.Client,
        gitlab_forms.GitLabForm,
        gitlab_forms.parse_reference,
        gitlab_webhooks.verify,
        gitlab_webhooks.parse,
        "X-Gitlab-Token",
    ),
    Kind.GITHUB: Tracker(
        Kind.GITHUB,
        "GitHub",
        github_client.Client,
        github_forms.GitHubForm,
        github_forms.parse_reference,
        github_webhooks.verify,
        github_webhooks.parse,
        "X-Hub-Signature-256",
    ),
    Kind.JIRA: Tracker(
        Kind.JIRA,
        "Jira",
        jira_client.Client,
        jira_forms.JiraForm,
        jira_forms.parse_reference,
        jira_webhooks.verify,
        jira_webhooks.parse,
        "X-Hub-Signature",
    ),
}


def tracker(kind: str) -> Tracker:
    """Return the tracker of ``kind``; KeyError for an unknown kind."""
    return TRACKERS[kind]
