"""``{% mute_button issue %}`` and ``{% mute_button project %}``: the
person's mute toggle, for the issue and project pages."""

from __future__ import annotations

from django import template

from fixtrail.alerts.mutes import is_muted
from fixtrail.issues.models import Issue

register = template.Library()


@register.inclusion_tag("alerts/_mute_button.html", takes_context=True)
def mute_button(context: template.Context, target: object) -> dict:
    """Render the mute toggle of ``target`` (an Issue or a Project) for
    the request's user (one query)."""
    request = context["request"]
    if isinstance(target, Issue):
        scope, value = "issue", target.pk
        muted = is_muted(request.user, issue=target)
    else:
        scope, value = "project", f"{target.organization.slug}/{target.slug}"
        muted = is_muted(request.user, project=target)
    return {
        "scope": scope,
        "value": value,
        "muted": muted,
        "next": request.get_full_path(),
    }
