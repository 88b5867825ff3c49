"""The part of a connection form every tracker shares."""

from __future__ import annotations

from django import forms

MAX_LABELS = 20


class ConnectionForm(forms.Form):
    """Name, scope and ticket defaults; each tracker's form adds the
    address, credentials and target, and ``integration_fields``."""

    name = forms.SlugField(max_length=50, required=False)
    # A project slug of the organization; empty for every project.
    project = forms.SlugField(max_length=50, required=False)
    labels = forms.CharField(max_length=500, required=False)
    assignee = forms.CharField(max_length=128, required=False)

    def clean_labels(self) -> str:
        labels = [x.strip() for x in self.cleaned_data["labels"].split(",")]
        labels = [x for x in labels if x]
        if len(labels) > MAX_LABELS:
            raise forms.ValidationError(f"At most {MAX_LABELS} labels.")
        return ",".join(labels)

    def integration_fields(self) -> dict:
        """The Integration fields this form sets (tracker-specific)."""
        raise NotImplementedError


def first_error(form: forms.Form) -> str:
    """Return the form's first error as "field: message"."""
    for field, errors in form.errors.items():
        name = "" if field == "__all__" else f"{field}: "
        return f"{name}{errors[0]}"
    return "The input is not valid."


class TicketForm(forms.Form):
    """The create-ticket form on the issue page (prefilled, editable)."""

    integration = forms.SlugField(max_length=50)
    title = forms.CharField(max_length=255)
    body = forms.CharField(max_length=32_000, required=False, widget=forms.Textarea)
    labels = forms.CharField(max_length=500, required=False)
    assignee = forms.CharField(max_length=128, required=False)
    # Made when the form is shown: a resubmitted form (a double click, a
    # browser retry) carries the same key, so it files one ticket.
    request_key = forms.RegexField(regex=r"^[A-Za-z0-9_-]{8,64}$")

    def label_list(self) -> list[str]:
        labels = [x.strip() for x in self.cleaned_data["labels"].split(",")]
        return [x for x in labels if x][:MAX_LABELS]


class LinkForm(forms.Form):
    integration = forms.SlugField(max_length=50)
    ticket = forms.CharField(max_length=500)


class RuleForm(forms.Form):
    query = forms.CharField(max_length=500)

    def clean_query(self) -> str:
        from fixtrail.issues.search import SearchError, parse_query

        query = self.cleaned_data["query"].strip()
        try:
            parse_query(query)
        except SearchError as exc:
            raise forms.ValidationError(exc.message) from None
        if not query:
            raise forms.ValidationError("A rule needs a search.")
        return query
