"""Connecting a GitLab project, and naming one of its issues."""

from __future__ import annotations

import re

from django import forms

from fixtrail.integrations.forms import ConnectionForm

# "group/subgroup/project"; GitLab paths allow letters, digits, "_", "-", ".".
_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
_ISSUE_URL = re.compile(
    r"https?://[^/]+/(?P<path>.+?)/-/(issues|work_items)/(?P<iid>\d+)"
)
_NUMBER = re.compile(r"#?(\d{1,12})")


class GitLabForm(ConnectionForm):
    url = forms.URLField(
        max_length=300,
        assume_scheme="https",
        help_text="The GitLab instance, e.g. https://gitlab.com",
    )
    token = forms.CharField(
        max_length=500, help_text="A personal, group or project access token (api)"
    )
    target = forms.CharField(max_length=255, help_text="group/project")

    def clean_target(self) -> str:
        target = self.cleaned_data["target"].strip().strip("/")
        if not _PATH.fullmatch(target):
            raise forms.ValidationError("Give the project as group/project.")
        return target

    def integration_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "base_url": data["url"].rstrip("/"),
            "token": data["token"].strip(),
            "target": data["target"],
        }


def parse_reference(text: str, target: str) -> str:
    """Return the iid of ``text``: "12", "#12" or the issue's URL in the
    connected project. Raises ValueError with the reason."""
    text = text.strip()
    if match := _NUMBER.fullmatch(text):
        return match.group(1)
    if match := _ISSUE_URL.fullmatch(text.rstrip("/")):
        if match.group("path").lower() != target.lower():
            raise ValueError(f"That issue is not in {target}.")
        return match.group("iid")
    raise ValueError("Give the GitLab issue's number or its URL.")
