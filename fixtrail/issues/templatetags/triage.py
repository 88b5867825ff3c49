"""Presentation filters and tags of the triage pages; each wraps a tested
function from fixtrail.lib or fixtrail.issues.display in a line or two.

Event data is hostile: nothing here marks payload text safe. HTML is built
with format_html only, which escapes every argument.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from fixtrail.issues import display
from fixtrail.lib import markdown as markdown_lib
from fixtrail.lib import numfmt, timefmt

register = template.Library()


@register.simple_tag(takes_context=True)
def when(context: template.Context, moment: datetime | None) -> SafeString:
    """A <time> element: relative to the page's ``now``, exact on hover."""
    if moment is None:
        return format_html('<span class="muted">—</span>')
    now = context.get("now") or timezone.now()
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        timefmt.exact(moment),
        timefmt.relative(moment, now),
    )


@register.filter
def exact(moment: datetime | None) -> str:
    return timefmt.exact(moment) if moment else ""


@register.filter
def pairs(value: Any) -> list[tuple[str, str]]:
    """Iterate a payload dict (or list of pairs) safely: a key named
    "items" or "values" cannot shadow the method the template would call."""
    return display.pairs(value)


@register.filter
def http_link(url: str, label: str | None = None) -> SafeString:
    """A link for http(s) URLs; any other URL (javascript:, data:, …) is
    shown as text only."""
    if display.is_http_url(url):
        return format_html(
            '<a href="{}" rel="nofollow noopener noreferrer" target="_blank">{}</a>',
            url,
            label or url,
        )
    return format_html("{}", label or url)


@register.filter
def markdown(text: str) -> SafeString:
    # markdown_lib.render escapes every character of its input and adds
    # only its own fixed tags, so its output is safe by construction.
    return mark_safe(markdown_lib.render(text or ""))  # noqa: S308


@register.filter
def compact(number: int | None) -> SafeString:
    """A short number with the exact one on hover: 12.3k."""
    if number is None:
        return format_html("{}", "—")
    return format_html(
        '<span title="{}">{}</span>', f"{number:,}", numfmt.compact(number)
    )


@register.filter
def short_event_id(event_id: str) -> str:
    return event_id[:8]


# Stack traces and key-value tables are rendered here rather than with
# template loops: a 500-frame event has ~10,000 cells, and building them
# with format_html is about ten times faster than the template engine.


@register.simple_tag
def kv_table(rows: list[tuple[str, str]]) -> SafeString:
    """A two-column table of (key, value) pairs from display.pairs."""
    return format_html(
        '<table class="kv-table">{}</table>',
        format_html_join("", "<tr><th>{}</th><td><pre>{}</pre></td></tr>", rows),
    )


@register.simple_tag
def frames(stack: display.Stacktrace) -> SafeString:
    """The frames of a stack trace, most recent first; frames with source
    or variables expand, and the stack's ``first_open`` frame starts open."""
    return format_html(
        '<ol class="frames">{}</ol>',
        format_html_join(
            "",
            '<li class="frame {}">{}</li>',
            (
                (
                    "in-app" if frame.in_app else "system",
                    _frame(frame, i == stack.first_open),
                )
                for i, frame in enumerate(stack.frames)
            ),
        ),
    )


def _frame(frame: display.Frame, is_open: bool) -> SafeString:
    title = _frame_title(frame)
    if not frame.has_details:
        return format_html('<div class="frame-title">{}</div>', title)
    context = ""
    if frame.context:
        context = format_html(
            '<ol class="context" tabindex="0">{}</ol>',
            format_html_join(
                "",
                '<li class="{}"><span class="ln">{}</span><code>{}</code></li>',
                (
                    (
                        "current" if current else "",
                        "" if number is None else number,
                        line,
                    )
                    for number, line, current in frame.context
                ),
            ),
        )
    variables = ""
    if frame.variables:
        variables = format_html(
            '<table class="vars">{}</table>',
            format_html_join(
                "", "<tr><th>{}</th><td><pre>{}</pre></td></tr>", frame.variables
            ),
        )
    return format_html(
        "<details{}><summary>{}</summary>{}{}</details>",
        " open" if is_open else "",
        title,
        context,
        variables,
    )


def _frame_title(frame: display.Frame) -> SafeString:
    where = frame.filename or frame.module or frame.package or "?"
    line = ""
    if frame.lineno is not None:
        column = "" if frame.colno is None else f":{frame.colno}"
        line = format_html(
            ' at line <span class="lineno">{}{}</span>', frame.lineno, column
        )
    return format_html(
        '<span class="file">{}</span>{}{}{}{}',
        where,
        format_html(' in <span class="fn">{}</span>', frame.function)
        if frame.function
        else "",
        line,
        format_html(' <span class="muted">{}</span>', frame.address)
        if frame.address
        else "",
        _APP_BADGE if frame.in_app else "",
    )


_APP_BADGE = SafeString(' <span class="badge badge-app">app</span>')
