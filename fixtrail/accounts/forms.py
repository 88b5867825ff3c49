from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password

from fixtrail.accounts.models import SCOPES, Role

# Django's MinimumLengthValidator's default, which settings keep; the form
# says it up front and checks it itself, not only through the browser.
PASSWORD_MIN_LENGTH = 8


class SetupForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    email = forms.EmailField(label="E-mail address", help_text="You log in with it.")
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        min_length=PASSWORD_MIN_LENGTH,
        help_text=f"At least {PASSWORD_MIN_LENGTH} characters, not a common password.",
        error_messages={
            "min_length": f"The password is too short: use at least "
            f"{PASSWORD_MIN_LENGTH} characters."
        },
    )
    organization = forms.CharField(
        label="Organization name",
        max_length=100,
        initial="My Organization",
        help_text="Its members share projects and issues.",
    )

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


# The scopes each kind of client needs, offered as presets on the token
# form: sentry-cli uploads releases and sends events; GitLab's error
# tracking lists issues and resolves or ignores them.
SCOPE_PRESETS = {
    "sentry-cli": (
        "sentry-cli",
        [
            "org:read",
            "project:read",
            "project:write",
            "project:releases",
            "event:read",
            "event:write",
        ],
    ),
    "gitlab": (
        "GitLab integration",
        ["org:read", "project:read", "event:read", "event:write"],
    ),
    "read-only": (
        "read-only",
        ["org:read", "project:read", "team:read", "member:read", "event:read"],
    ),
}
CUSTOM_PRESET = "custom"


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What uses this token, e.g. “CI release upload”.",
    )
    preset = forms.ChoiceField(
        label="For",
        choices=[(key, label) for key, (label, _) in SCOPE_PRESETS.items()]
        + [(CUSTOM_PRESET, "choose the scopes")],
        initial="sentry-cli",
        widget=forms.RadioSelect,
        # A post without a preset chose its scopes.
        required=False,
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(s, s) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Used only when “choose the scopes” is selected.",
    )

    def clean(self) -> dict:
        """Set the scopes from the preset, or require some when custom."""
        data = super().clean()
        preset = data.get("preset")
        if preset in SCOPE_PRESETS:
            data["scopes"] = SCOPE_PRESETS[preset][1]
        elif not data.get("scopes"):
            self.add_error("scopes", "Choose at least one scope.")
        return data


ROLE_HELP = (
    "Viewer: reads issues. Member: also triages (resolve, assign, comment). "
    "Admin: also manages projects, keys and teams. Owner: also manages members."
)


class MemberForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        help_text="Someone without an account gets an e-mail to set a password.",
    )
    role = forms.ChoiceField(
        label="Role", choices=Role.choices, initial=Role.MEMBER, help_text=ROLE_HELP
    )


class TeamForm(forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        help_text="Its slug, used in searches (assigned:#backend) and the API, "
        "is made from the name.",
    )
