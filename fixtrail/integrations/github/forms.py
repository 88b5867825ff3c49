"""Connecting a GitHub repository, and naming one of its issues."""

from __future__ import annotations

import re

from django import forms

from fixtrail.integrations.forms import ConnectionForm

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9_.-]{1,100}")
_ISSUE_URL = re.compile(r"https?://[^/]+/(?P<repo>[^/]+/[^/]+)/issues/(?P<n>\d+)")
_NUMBER = re.compile(r"#?(\d{1,12})")


class GitHubForm(ConnectionForm):
    token = forms.CharField(
        max_length=500, help_text="A fine-grained token with Issues: read and write"
    )
    repo = forms.CharField(max_length=141, help_text="owner/repository")
    # GitHub Enterprise Server answers at https://HOST/api/v3.
    api_url = forms.URLField(max_length=300, required=False, assume_scheme="https")

    def clean_repo(self) -> str:
        repo = self.cleaned_data["repo"].strip().strip("/")
        if not _REPO.fullmatch(repo):
            raise forms.ValidationError("Give the repository as owner/repo.")
        return repo

    def integration_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "base_url": (data["api_url"] or DEFAULT_API_URL).rstrip("/"),
            "token": data["token"].strip(),
            "target": data["repo"],
        }


def parse_reference(text: str, target: str) -> str:
    """Return the issue number of ``text``: "7", "#7" or the issue's URL in
    the connected repository. Raises ValueError with the reason."""
    text = text.strip()
    if match := _NUMBER.fullmatch(text):
        return match.group(1)
    if match := _ISSUE_URL.fullmatch(text.rstrip("/")):
        if match.group("repo").lower() != target.lower():
            raise ValueError(f"That issue is not in {target}.")
        return match.group("n")
    raise ValueError("Give the GitHub issue's number or its URL.")
