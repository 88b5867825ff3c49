from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "fixtrail.alerts"
    label = "alerts"
