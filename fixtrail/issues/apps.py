from __future__ import annotations

from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "fixtrail.issues"
    label = "issues"
