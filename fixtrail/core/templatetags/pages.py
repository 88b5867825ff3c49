"""Presentation filters every page may use."""

from __future__ import annotations

from django import template

from fixtrail.lib.words import words as _words

register = template.Library()


@register.filter
def words(identifier: object) -> str:
    """Show a stored code (``rate_limited``) as words (``rate limited``)."""
    return _words(str(identifier))
