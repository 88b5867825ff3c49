from __future__ import annotations

from django import forms

from fixtrail.projects.models import PLATFORMS, Project


class ProjectCreateForm(forms.Form):
    name = forms.CharField(
        label="Project name",
        max_length=100,
        help_text="Usually the application's name, e.g. “Checkout”.",
    )
    platform = forms.ChoiceField(
        label="Platform",
        choices=PLATFORMS,
        initial="python",
        help_text="The set-up page shows this platform's SDK first.",
    )


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
        labels = {
            "rate_limit_per_minute": "Rate limit (events per minute)",
            "quota_per_month": "Quota (events per month)",
            "scrub_data": "Scrub sensitive data",
            "scrub_ip_addresses": "Scrub IP addresses",
            "filter_localhost": "Drop events from localhost",
            "filter_browser_extensions": "Drop errors caused by browser extensions",
            "filter_web_crawlers": "Drop events from web crawlers",
            "filter_error_messages": "Drop errors whose message matches",
            "filter_releases": "Drop events from releases",
            "retention_days": "Keep events for (days)",
            "max_events_stored": "Most events stored",
        }
        help_texts = {
            "rate_limit_per_minute": "0 = no limit. Beyond it, SDKs get 429.",
            "quota_per_month": "0 = no limit.",
            "scrub_data": "Passwords, tokens, cookies and card numbers are "
            "replaced before events are stored.",
            "filter_error_messages": "One pattern per line; * matches anything.",
            "filter_releases": "One release per line; * matches anything.",
            "retention_days": "Older events are deleted; issues stay.",
            "max_events_stored": "0 = no limit. The oldest go first.",
        }
        widgets = {
            f: forms.Textarea(attrs={"rows": 3})
            for f in (
                "allowed_origins",
                "scrub_fields",
                "filter_error_messages",
                "filter_releases",
            )
        }
