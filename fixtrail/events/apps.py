from __future__ import annotations

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "fixtrail.events"
    label = "events"
