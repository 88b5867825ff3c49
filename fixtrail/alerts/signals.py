"""Give every new project its default alert rule."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from fixtrail.projects.models import Project


@receiver(post_save, sender=Project, dispatch_uid="alerts.default_rule")
def give_default_rule(
    sender: type, instance: Project, created: bool, raw: bool = False, **kwargs: object
) -> None:
    """Create the default rule when a project is created (not on fixtures
    loaded raw, whose rules come with them)."""
    if created and not raw:
        from fixtrail.alerts.rules import create_default_rule

        create_default_rule(instance)
