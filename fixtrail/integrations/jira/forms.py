"""Connecting a Jira project, and naming one of its issues."""

from __future__ import annotations

import re

from django import forms

from fixtrail.integrations.forms import ConnectionForm

_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,9}")
_ISSUE_KEY = re.compile(r"(?P<key>[A-Za-z][A-Za-z0-9_]{0,9})-(?P<n>\d{1,12})")
_NUMBER = re.compile(r"\d{1,12}")


class JiraForm(ConnectionForm):
    site = forms.URLField(
        max_length=300,
        assume_scheme="https",
        help_text="https://your-team.atlassian.net",
    )
    email = forms.EmailField(help_text="The account's e-mail address")
    token = forms.CharField(max_length=500, help_text="An Atlassian API token")
    project_key = forms.CharField(max_length=10, help_text="e.g. OPS")
    issue_type = forms.CharField(max_length=64, required=False, initial="Bug")

    def clean_project_key(self) -> str:
        key = self.cleaned_data["project_key"].strip().upper()
        if not _KEY.fullmatch(key):
            raise forms.ValidationError(
                "A project key is letters and digits, e.g. OPS."
            )
        return key

    def integration_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "base_url": data["site"].rstrip("/"),
            "email": data["email"],
            "token": data["token"].strip(),
            "target": data["project_key"],
            "issue_type": data["issue_type"].strip() or "Bug",
        }


def parse_reference(text: str, target: str) -> str:
    """Return the issue key of ``text``: "OPS-12", "12" or a URL ending in
    the key. Raises ValueError with the reason."""
    text = text.strip().rstrip("/")
    if _NUMBER.fullmatch(text):
        return f"{target}-{text}"
    match = _ISSUE_KEY.fullmatch(text.rsplit("/", 1)[-1].split("?")[0])
    if match is None:
        raise ValueError("Give the Jira issue's key (OPS-12) or its URL.")
    if match.group("key").upper() != target.upper():
        raise ValueError(f"That issue is not in project {target}.")
    return f"{match.group('key').upper()}-{match.group('n')}"
