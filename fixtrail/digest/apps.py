from __future__ import annotations

from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "fixtrail.digest"
    label = "digest"
