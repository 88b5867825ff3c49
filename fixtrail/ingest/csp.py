"""Turn browsers' Content-Security-Policy violation reports into events.

Browsers post reports to the ``report-uri`` (or ``report-to``) of a policy,
which users point at ``/api/<project_id>/security/?sentry_key=...``. Two
shapes exist. The legacy one (``Content-Type: application/csp-report``)::

    {"csp-report": {"document-uri": "https://shop.example/cart",
                    "effective-directive": "script-src-elem",
                    "blocked-uri": "https://cdn.evil.example/x.js", ...}}

and the Reporting API's (``application/reports+json``), a list::

    [{"type": "csp-violation", "url": "https://shop.example/cart",
      "body": {"documentURL": "https://shop.example/cart",
               "effectiveDirective": "script-src-elem",
               "blockedURL": "https://cdn.evil.example/x.js", ...}}]

Each violation becomes one event with ``logger: "csp"``, a message naming
the directive and what was blocked, the page as ``request.url``, and the
report's fields (snake_case) under ``csp``. Optional ``sentry_environment``
and ``sentry_release`` query parameters become the event's environment and
release.

Field reference: https://www.w3.org/TR/CSP3/#violation-events (legacy keys in
https://www.w3.org/TR/CSP2/#violation-reports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

from fixtrail.ingest.exceptions import BadRequest

# A report field is a URL, a directive or a short sample; 2 KiB is above any
# of them and stops a hostile report from becoming a huge event.
MAX_FIELD_LENGTH = 2048

# The Reporting API batches; browsers send a handful at a time.
MAX_REPORTS = 100

# Legacy report key -> our snake_case key.
_LEGACY_FIELDS = {
    "document-uri": "document_uri",
    "referrer": "referrer",
    "violated-directive": "violated_directive",
    "effective-directive": "effective_directive",
    "original-policy": "original_policy",
    "disposition": "disposition",
    "blocked-uri": "blocked_uri",
    "source-file": "source_file",
    "line-number": "line_number",
    "column-number": "column_number",
    "status-code": "status_code",
    "script-sample": "script_sample",
}

# Reporting API body key -> our snake_case key.
_REPORTING_FIELDS = {
    "documentURL": "document_uri",
    "referrer": "referrer",
    "effectiveDirective": "effective_directive",
    "originalPolicy": "original_policy",
    "disposition": "disposition",
    "blockedURL": "blocked_uri",
    "sourceFile": "source_file",
    "lineNumber": "line_number",
    "columnNumber": "column_number",
    "statusCode": "status_code",
    "sample": "script_sample",
}


def events_from_report(
    body: bytes,
    *,
    new_event_id: Callable[[], str],
    now: float,
    user_agent: str | None,
    environment: str | None = None,
    release: str | None = None,
) -> list[dict[str, Any]]:
    """Return one event per CSP violation in a report body.

    ``new_event_id`` is called once per violation for its id. Raises
    BadRequest for a
    body that is not a CSP report; non-CSP entries of a Reporting API list
    (deprecation, intervention...) are skipped.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("security report is not valid JSON") from None
    violations = _violations(data)
    if not violations:
        raise BadRequest("security report holds no CSP violation")
    return [
        _event(
            violation,
            event_id=new_event_id(),
            now=now,
            user_agent=user_agent,
            environment=environment,
            release=release,
        )
        for violation in violations
    ]


def _violations(data: object) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        return [_pick(data["csp-report"], _LEGACY_FIELDS)]
    if isinstance(data, list):
        if len(data) > MAX_REPORTS:
            raise BadRequest(f"security report holds more than {MAX_REPORTS} reports")
        return [
            _pick(report["body"], _REPORTING_FIELDS)
            for report in data
            if isinstance(report, dict)
            and report.get("type") == "csp-violation"
            and isinstance(report.get("body"), dict)
        ]
    raise BadRequest("security report is not a CSP report")


def _pick(source: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for name, ours in names.items():
        value = source.get(name)
        if isinstance(value, str):
            picked[ours] = value[:MAX_FIELD_LENGTH]
        elif isinstance(value, int) and not isinstance(value, bool):
            picked[ours] = value
    return picked


def _event(
    csp: dict[str, Any],
    *,
    event_id: str,
    now: float,
    user_agent: str | None,
    environment: str | None,
    release: str | None,
) -> dict[str, Any]:
    directive = csp.get("effective_directive") or csp.get("violated_directive") or ""
    # Old browsers put the whole directive with its sources in
    # violated-directive ("script-src 'self'"); its first word is the name.
    directive = directive.split(" ", 1)[0] or "unknown-directive"
    blocked = csp.get("blocked_uri") or ""
    event: dict[str, Any] = {
        "event_id": event_id,
        "timestamp": now,
        "platform": "other",
        "level": "error",
        "logger": "csp",
        "logentry": {"formatted": _message(directive, blocked)},
        "culprit": directive,
        "tags": [["effective-directive", directive], ["blocked-uri", _origin(blocked)]],
        "csp": csp,
    }
    request: dict[str, Any] = {}
    if csp.get("document_uri"):
        request["url"] = csp["document_uri"]
    if user_agent:
        request["headers"] = [["User-Agent", user_agent[:MAX_FIELD_LENGTH]]]
    if request:
        event["request"] = request
    if environment:
        event["environment"] = environment[:64]
    if release:
        event["release"] = release[:200]
    return event


def _message(directive: str, blocked: str) -> str:
    if blocked in ("inline", "'unsafe-inline'"):
        return f"Blocked inline code by {directive}"
    if blocked in ("eval", "'unsafe-eval'"):
        return f"Blocked eval() by {directive}"
    if blocked in ("", "'none'"):
        return f"Blocked a resource by {directive}"
    return f"Blocked {_origin(blocked)} by {directive}"


def _origin(uri: str) -> str:
    """Return scheme://host of a URL, or the value itself when it is not one."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri[:200]
    if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return uri[:200]
