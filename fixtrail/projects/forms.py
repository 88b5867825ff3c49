from __future__ import annotations

from django import forms

from fixtrail.projects.models import PLATFORMS, Project


class ProjectCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    platform = forms.ChoiceField(choices=PLATFORMS, initial="python")


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [
            "name",
            "platform",
            "allowed_origins",
            "rate_limit_per_minute",
            "quota_per_month",
            "scrub_data",
            "scrub_fields",
            "scrub_ip_addresses",
            "filter_localhost",
            "filter_browser_extensions",
            "filter_web_crawlers",
            "filter_error_messages",
            "filter_releases",
            "retention_days",
            "max_events_stored",
        ]
        widgets = {
            f: forms.Textarea(attrs={"rows": 3})
            for f in (
                "allowed_origins",
                "scrub_fields",
                "filter_error_messages",
                "filter_releases",
            )
        }
