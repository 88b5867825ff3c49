"""What an alert says, composed once for every channel.

``alert_context`` is the one place that gathers what a message tells:
what happened, how often, to how many users, since which release, and the
link. E-mail renders it with templates, webhooks send it as JSON
(``webhook_body``), chat services get ``chat_text``. A webhook body::

    {"id": 42, "short_id": "BACKEND-1A", "title": "ValueError: bad thing",
     "project": {"slug": "backend", "name": "Backend", "organization": "acme"},
     "url": "https://fixtrail.example.com/issues/42/",
     "trigger": "new", "what": "New issue",
     "counts": {"events": 120, "users": 7, "window_events": null, ...},
     "level": "error", "culprit": "app.views in index",
     "first_release": "2.1.0", "last_release": "2.1.3",
     "first_seen": "...", "last_seen": "...",
     "rule": {"id": 3, "name": "New issues and regressions"}, "test": false}
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from fixtrail.alerts import triggers
from fixtrail.alerts.models import AlertRule
from fixtrail.issues.models import Issue
from fixtrail.lib.numfmt import compact
from fixtrail.releases.overview import commit_link
from fixtrail.releases.suspects import suspect_commits


def _what(trigger: str, data: dict, rule: AlertRule | None) -> str:
    window = triggers.format_duration(int(data.get("window_minutes") or 0))
    if trigger == triggers.NEW:
        return "New issue"
    if trigger == triggers.REGRESSION:
        release = data.get("release")
        return f"Regression in {release}" if release else "Regression"
    if trigger == triggers.ESCALATING:
        return "Ignored issue is escalating"
    if trigger == triggers.NEW_RELEASE:
        return f"First seen in release {data.get('value', '')}"
    if trigger == triggers.NEW_ENVIRONMENT:
        return f"First seen in environment {data.get('value', '')}"
    if trigger == triggers.FREQUENCY:
        return f"{data.get('window_events')} events in {window}"
    if trigger == triggers.USERS:
        return f"{data.get('window_users')} users in {window}"
    if trigger == triggers.SPIKE:
        return (
            f"Spike: {data.get('window_events')} events in the last hour, "
            f"usually {data.get('usual_rate')}"
        )
    return "Test alert"


def alert_context(
    issue: Issue | None,
    trigger: str,
    data: dict | None = None,
    rule: AlertRule | None = None,
    *,
    test: bool = False,
) -> dict[str, Any]:
    """Return everything a message about ``issue`` says (a sample issue when
    None, for ``fixtrail alert test``). Reads issue.project and its
    organization (queries unless selected).

    The top suspect commit and its merge request are here too, so every
    channel names them (reads the latest event and the releases' commits).
    """
    data = data or {}
    base = settings.BASE_URL
    if issue is None:
        project = rule.project if rule else None
        ctx_issue = {
            "id": None,
            "short_id": "SAMPLE-1",
            "title": "Sample alert from Fixtrail",
            "culprit": "",
            "level": "error",
            "times_seen": 0,
            "user_count": 0,
            "first_release": "",
            "last_release": "",
            "first_seen": timezone.now(),
            "last_seen": timezone.now(),
            "url": f"{base}{project.get_absolute_url()}" if project else base,
        }
    else:
        project = issue.project
        ctx_issue = {
            "id": issue.pk,
            "short_id": issue.short_id_display,
            "title": issue.title,
            "culprit": issue.culprit,
            "level": issue.level,
            "times_seen": issue.times_seen,
            "user_count": issue.user_count,
            "first_release": issue.first_release,
            "last_release": issue.last_release,
            "first_seen": issue.first_seen,
            "last_seen": issue.last_seen,
            "url": f"{base}{issue.get_absolute_url()}",
        }
    return {
        "issue": ctx_issue,
        "project": {
            "slug": project.slug if project else "",
            "name": project.name if project else "",
            "organization": project.organization.slug if project else "",
        },
        "trigger": trigger,
        "what": _what(trigger, data, rule),
        "data": data,
        "events": compact(ctx_issue["times_seen"]),
        "users": compact(ctx_issue["user_count"]),
        "rule": {"id": rule.pk, "name": rule.name} if rule else None,
        "test": test,
        "base_url": base,
        "suspect": _suspect(issue) if issue is not None else None,
    }


def _suspect(issue: Issue) -> dict[str, Any] | None:
    """The commit that most probably introduced ``issue``, with its merge
    request, or None."""
    suspects = suspect_commits(issue, limit=1)
    if not suspects:
        return None
    commit = suspects[0].commit
    request = commit.merge_request
    return {
        "sha": commit.sha,
        "subject": commit.message.split("\n", 1)[0][:200],
        "author": commit.author_name or commit.author_email,
        "url": commit_link(commit) or None,
        "reason": suspects[0].reason,
        "merge_request": (
            {"number": request.number, "title": request.title, "url": request.url}
            if request is not None
            else None
        ),
    }


def webhook_body(ctx: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON a webhook receives (see the module docstring)."""
    issue = ctx["issue"]
    data = ctx["data"]
    return {
        "id": issue["id"],
        "short_id": issue["short_id"],
        "title": issue["title"],
        "project": ctx["project"],
        "url": issue["url"],
        "trigger": ctx["trigger"],
        "what": ctx["what"],
        "counts": {
            "events": issue["times_seen"],
            "users": issue["user_count"],
            "window_events": data.get("window_events"),
            "window_users": data.get("window_users"),
            "window_minutes": data.get("window_minutes"),
        },
        "level": issue["level"],
        "culprit": issue["culprit"],
        "first_release": issue["first_release"] or None,
        "last_release": issue["last_release"] or None,
        "first_seen": issue["first_seen"].isoformat(),
        "last_seen": issue["last_seen"].isoformat(),
        "suspect": ctx["suspect"],
        "rule": ctx["rule"],
        "test": ctx["test"],
    }


def chat_title(ctx: dict[str, Any]) -> str:
    """Return a chat message's title: what happened, to which issue."""
    prefix = "[test] " if ctx["test"] else ""
    return f"{prefix}{ctx['what']}: {ctx['issue']['short_id']}"


def chat_text(ctx: dict[str, Any]) -> str:
    """Return a chat message's body (Markdown, which apprise converts for
    services that want another format)."""
    issue = ctx["issue"]
    lines = [
        f"**{issue['title']}**",
        f"{ctx['events']} events, {ctx['users']} users"
        + (
            f", since release {issue['first_release']}"
            if issue["first_release"]
            else ""
        ),
        f"Project {ctx['project']['name']}"
        + (f" · {issue['culprit']}" if issue["culprit"] else ""),
    ]
    suspect = ctx["suspect"]
    if suspect is not None:
        request = suspect["merge_request"]
        lines.append(
            f"Suspect commit {suspect['sha'][:12]} by {suspect['author']}"
            + (f", introduced by !{request['number']}" if request else "")
        )
    lines.append(issue["url"])
    return "\n".join(lines)
