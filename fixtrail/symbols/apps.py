from __future__ import annotations

from django.apps import AppConfig


class SymbolsConfig(AppConfig):
    name = "fixtrail.symbols"
    label = "symbols"
