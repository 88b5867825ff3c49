from __future__ import annotations

from django import forms

from fixtrail.lib.dsn import DSNError, parse_dsn


class ForwardingForm(forms.Form):
    """The DSN of the other server, checked before it is saved."""

    dsn = forms.CharField(
        label="Also forward to (DSN)",
        max_length=1000,
        help_text="the project's DSN on the other server, "
        "e.g. https://key@o1.ingest.sentry.io/123",
    )

    def clean_dsn(self) -> str:
        dsn = self.cleaned_data["dsn"].strip()
        try:
            parse_dsn(dsn)
        except DSNError as exc:
            raise forms.ValidationError(str(exc)) from None
        return dsn


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
