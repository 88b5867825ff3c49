from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "fixtrail.api"
    label = "api"
    verbose_name = "Web API"
