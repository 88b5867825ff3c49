from __future__ import annotations

from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "fixtrail.adoption"
    label = "adoption"
