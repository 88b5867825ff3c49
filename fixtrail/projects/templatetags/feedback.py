"""``{% feedback_link issue %}``: the issue page's link to its user feedback."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from fixtrail.events.feedback import reports_of_issue
from fixtrail.issues.models import Issue

register = template.Library()


@register.simple_tag
def feedback_link(issue: Issue) -> SafeString:
    """Return a link to the issue's feedback with how many there are.

    Runs one count query.
    """
    count = reports_of_issue(issue).count()
    return format_html(
        '<a href="{}" class="feedback-link">{} user feedback</a>',
        reverse("projects:issue_feedback", args=[issue.pk]),
        count,
    )
