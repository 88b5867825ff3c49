"""The rule form of the project's alert pages."""

from __future__ import annotations

from django import forms

from fixtrail.alerts import triggers
from fixtrail.alerts.models import AlertPreference, AlertRule
from fixtrail.alerts.rules import RuleError, check_filter, parse_action, rule_when

EVENT_CHOICES = [(t, triggers.LABELS[t]) for t in triggers.EVENT_TRIGGERS]
THRESHOLD_CHOICES = [("", "None")] + [
    (t, triggers.LABELS[t]) for t in triggers.THRESHOLD_TRIGGERS
]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    counted = forms.ChoiceField(
        choices=THRESHOLD_CHOICES, required=False, label="And/or a threshold"
    )
    threshold = forms.IntegerField(
        min_value=0, required=False, help_text="N events or users, or the factor K"
    )
    window = forms.CharField(
        max_length=10, required=False, help_text="For events and users: 10m, 1h, 1d"
    )
    filter = forms.CharField(
        max_length=1000,
        required=False,
        help_text="Issue search syntax, e.g. environment:production level:error",
    )
    cooldown = forms.CharField(
        max_length=10, initial="30m", help_text="At most one alert per issue in …"
    )
    add_actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Add actions",
        help_text="One a line: members, email:ADDRESS, webhook:URL, apprise:URL",
    )
    remove_actions = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: object, rule: AlertRule | None = None, **kwargs: object):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(rule)
        super().__init__(*args, **kwargs)
        actions = rule.actions.order_by("pk") if rule else []
        self.fields["remove_actions"].choices = [(a.pk, a.spec()) for a in actions]
        if rule is None:
            del self.fields["remove_actions"]

    def clean_filter(self) -> str:
        try:
            return check_filter(self.cleaned_data["filter"])
        except RuleError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_cooldown(self) -> int:
        try:
            return triggers.parse_duration(self.cleaned_data["cooldown"])
        except triggers.TriggerError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_add_actions(self) -> list:
        try:
            return [
                parse_action(line)
                for line in self.cleaned_data["add_actions"].splitlines()
                if line.strip()
            ]
        except RuleError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict:
        data = super().clean()
        names = list(data.get("events") or [])
        counted = data.get("counted")
        threshold = data.get("threshold") or 0
        window = 0
        if counted == triggers.SPIKE:
            window = triggers.SPIKE_WINDOW_MINUTES
        elif counted:
            try:
                window = triggers.parse_duration(data.get("window") or "")
            except triggers.TriggerError as exc:
                self.add_error("window", exc.message)
                return data
        if counted:
            names.append(counted)
        when = triggers.When(tuple(names), threshold, window)
        try:
            triggers.check_when(when)
        except triggers.TriggerError as exc:
            raise forms.ValidationError(exc.message) from None
        data["when"] = when
        return data


def initial_for(rule: AlertRule) -> dict:
    """Return the form's values for an existing rule."""
    when = rule_when(rule)
    counted = next((t for t in when.triggers if t in triggers.THRESHOLD_TRIGGERS), "")
    return {
        "name": rule.name,
        "events": [t for t in when.triggers if t in triggers.EVENT_TRIGGERS],
        "counted": counted,
        "threshold": when.threshold or None,
        "window": triggers.format_duration(when.window_minutes)
        if counted and counted != triggers.SPIKE
        else "",
        "filter": rule.filter,
        "cooldown": triggers.format_duration(rule.cooldown_minutes),
        "is_active": rule.is_active,
    }


class PreferenceForm(forms.Form):
    digest = forms.ChoiceField(
        choices=AlertPreference.Digest.choices, label="Digest e-mail"
    )
