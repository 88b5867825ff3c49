from __future__ import annotations

from django import forms


class SentryImportForm(forms.Form):
    """Where to import from; the token is used once and never stored."""

    url = forms.URLField(
        label="Server URL",
        assume_scheme="https",
        help_text="https://sentry.io, your Sentry, GlitchTip or another Fixtrail",
    )
    token = forms.CharField(
        label="Auth token",
        widget=forms.PasswordInput,
        max_length=500,
        help_text="needs org:read, project:read, member:read and event:read",
    )
    org = forms.SlugField(label="Organization slug there", max_length=50)
    issues = forms.BooleanField(
        label="Also import unresolved and ignored issues", required=False
    )
