"""Model fields shared by the apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fixtrail.lib.sealing import seal, unseal


class SealedTextField(models.TextField):
    """Text stored encrypted (settings.ENCRYPTION_KEYS) and read back as
    plain text in Python.

    Forms and templates must never render the value: pages show only
    whether one is set.
    """

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return seal(str(value), settings.ENCRYPTION_KEYS)

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        if value in (None, ""):
            return value
        return unseal(value, settings.ENCRYPTION_KEYS)
