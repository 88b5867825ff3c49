"""The pure parts of the tracker families: timestamps, signatures, ticket
references, Jira documents and webhook parsing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from fixtrail.integrations.base import hmac_sha256_matches, parse_time
from fixtrail.integrations.github import forms as github_forms
from fixtrail.integrations.github import webhooks as github_webhooks
from fixtrail.integrations.gitlab import forms as gitlab_forms
from fixtrail.integrations.jira import forms as jira_forms
from fixtrail.integrations.jira.client import document
from fixtrail.integrations.jira.webhooks import parse as parse_jira

T = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T10:00:00Z",
        "2026-12-01T10:00:00+00:00",
        "2026-12-01 10:00:00 UTC",
        "2026-12-01T10:00:00.000+0000",
        "2026-12-01T11:00:00.000+0100",
    ],
)
def test_it_reads_each_trackers_timestamps(text):
    assert parse_time(text) == T


@pytest.mark.parametrize("text", ["", "yesterday", None, 12])
def test_it_reads_no_time_from_junk(text):
    assert parse_time(text) is None


def test_it_matches_only_the_right_signature():
    body = b'{"action": "closed"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac_sha256_matches("s3cret", body, good) is True
    assert hmac_sha256_matches("s3cret", body + b" ", good) is False
    assert hmac_sha256_matches("other", body, good) is False
    assert (
        hmac_sha256_matches("s3cret", body, good.replace("sha256=", "sha1=")) is False
    )
    assert hmac_sha256_matches("s3cret", body, "") is False


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12", "12"),
        ("#12", "12"),
        ("https://gitlab.example.com/group/app/-/issues/12", "12"),
        ("https://gitlab.example.com/Group/App/-/work_items/12/", "12"),
    ],
)
def test_it_reads_gitlab_references(text, expected):
    assert gitlab_forms.parse_reference(text, "group/app") == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("https://gitlab.example.com/group/web/-/issues/1", "That issue is not in"),
        ("twelve", "Give the GitLab issue's number or its URL."),
    ],
)
def test_it_refuses_other_gitlab_references(text, message):
    with pytest.raises(ValueError, match=message):
        gitlab_forms.parse_reference(text, "group/app")


def test_it_reads_github_and_jira_references():
    assert github_forms.parse_reference("#7", "acme/app") == "7"
    assert jira_forms.parse_reference("ops-12", "OPS") == "OPS-12"
    assert jira_forms.parse_reference("12", "OPS") == "OPS-12"
    assert (
        jira_forms.parse_reference("https://acme.atlassian.net/browse/OPS-12", "OPS")
        == "OPS-12"
    )
    with pytest.raises(ValueError, match="That issue is not in project OPS."):
        jira_forms.parse_reference("WEB-1", "OPS")


def test_it_turns_markdown_into_a_jira_document():
    doc = document("Hello\nsee https://x.example/1.\n\n```\nframe\n```")
    assert doc["type"] == "doc"
    paragraph, code = doc["content"]
    assert [n["type"] for n in paragraph["content"]] == [
        "text",
        "hardBreak",
        "text",
        "text",
        "text",
    ]
    link = paragraph["content"][3]
    assert link["marks"] == [{"type": "link", "attrs": {"href": "https://x.example/1"}}]
    assert code == {"type": "codeBlock", "content": [{"type": "text", "text": "frame"}]}


def test_it_ignores_github_pull_requests_and_pings():
    pr = {
        "action": "closed",
        "issue": {"number": 3, "state": "closed", "updated_at": "2026-12-01T10:00:00Z",
                  "pull_request": {"url": "…"}},
        "repository": {"full_name": "acme/app"},
    }  # fmt: skip
    assert github_webhooks.parse({"X-GitHub-Event": "issues"}, pr, "acme/app") == []
    assert github_webhooks.parse({"X-GitHub-Event": "ping"}, {}, "acme/app") == []


def test_it_falls_back_to_the_jira_delivery_time():
    payload = {
        "timestamp": int(T.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {
            "key": "OPS-1",
            "fields": {"status": {"statusCategory": {"key": "done"}}},
        },
    }
    (change,) = parse_jira({}, payload, "OPS")
    assert (change.external_id, change.state, change.at) == ("OPS-1", "closed", T)
