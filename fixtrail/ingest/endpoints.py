"""The SDK endpoints: ``/api/<project_id>/envelope/``, ``/store/`` and ``/security/``.

One request goes through four steps, in order, and nothing else:

1. authenticate: find the DSN key (header, query string or envelope dsn),
   check it belongs to the project in the URL, is enabled, and the browser
   origin is allowed; key lookups are cached (fixtrail.ingest.keys);
2. bound and decompress the body, then split it into items;
3. enqueue: check rate limits for events, write attachment files, and put
   every queued item in the queue with one ``put_many``;
4. answer: ``200 {"id": ...}`` only once the queue has the items.

No grouping, no event parsing beyond what an id or a count needs, and no
writes to the main tables: digest does the rest. Errors become HTTP in one
place, :func:`error_response`, as Sentry's SDKs expect: a JSON
``{"detail": ...}`` body and an ``X-Sentry-Error`` header.

This module knows nothing about Django's request objects: fixtrail.ingest.views
(Django) and fixtrail.ingest.wsgi (the lean WSGI path) build an
:class:`IngestRequest` and send back the :class:`IngestResponse`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

import orjson

from fixtrail.core import selfmonitor
from fixtrail.ingest import cors
from fixtrail.ingest.attachments import (
    attachment_path,
    remove_attachments,
    write_attachment,
)
from fixtrail.ingest.auth import MAX_QUERY_FIELDS, find_public_key, key_from_dsn
from fixtrail.ingest.bodies import (
    decode_store_body,
    decompress,
    decompress_prefix,
    read_body,
)
from fixtrail.ingest.counters import consume_or_allow
from fixtrail.ingest.csp import events_from_report
from fixtrail.ingest.envelope import (
    Envelope,
    envelope_for_event,
    normalize_event_id,
    parse_envelope,
)
from fixtrail.ingest.exceptions import (
    BadRequest,
    Forbidden,
    IngestError,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from fixtrail.ingest.items import (
    ATTACHMENT,
    EVENT,
    FEEDBACK,
    FORWARD,
    USER_REPORT,
    encode_item,
)
from fixtrail.ingest.keys import KeyInfo, lookup_key
from fixtrail.ingest.outbox import check_room, enqueue
from fixtrail.ingest.ratelimits import applicable_limits, rate_limit_headers
from fixtrail.ingest.reports import (
    category_for_item,
    client_report_outcomes,
    session_counts,
)
from fixtrail.ingest.stats import STATS

ENDPOINTS = ("envelope", "store", "security")

# Header values must be Latin-1 and one line; SDKs log this string, so a
# couple of hundred characters say everything useful.
MAX_ERROR_HEADER_LENGTH = 200
# How much of an envelope is inflated to read its header when the DSN key is
# only in there: a header is a small JSON object (event id, dsn, sdk,
# sent_at, trace), far below this.
MAX_ENVELOPE_HEADER_BYTES = 64 * 1024

# The failing outcome a refused request counts under, by HTTP status.
_FAILURE_OUTCOMES = {400: "invalid", 413: "too_large", 429: "rate_limited"}

# What a request counts as before its body could be read.
_ENDPOINT_CATEGORIES = {"envelope": "unknown", "store": "error", "security": "security"}

# Envelope item types that only count, straight to stats, without a parse.
_SESSION_TYPES = ("session", "sessions")

_JSON = ("Content-Type", "application/json")

_STATUS_PHRASES = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


@dataclass
class IngestRequest:
    """An SDK request, independent of the web framework that received it.

    ``headers`` must answer ``get()`` for lower-case header names;
    ``content_length`` is None for a chunked body whose end the server
    signals by EOF.
    """

    method: str
    endpoint: str
    project_id: int
    headers: Mapping[str, str]
    query_string: str
    body: BinaryIO
    content_length: int | None
    client_ip: str | None


@dataclass
class IngestResponse:
    """Status, body and headers to send back."""

    status: int
    body: bytes
    headers: list[tuple[str, str]]

    @property
    def status_line(self) -> str:
        """Return the status as WSGI wants it, e.g. ``"200 OK"``."""
        return f"{self.status} {_STATUS_PHRASES.get(self.status, 'Unknown')}"


@dataclass
class _Queued:
    """An item on its way to the queue."""

    category: str
    header: dict[str, Any]
    payload: bytes
    attachment: bytes | None = None


@dataclass
class _Plan:
    """What one request will do once it passes the rate limits."""

    queued: list[_Queued] = field(default_factory=list)
    counted: list[tuple[str, str, str | None]] = field(default_factory=list)
    discarded: list[tuple[str, str, int]] = field(default_factory=list)
    sessions: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    event_count: int = 0
    response_id: str | None = None


@dataclass
class _Context:
    request: IngestRequest
    now: float
    key: KeyInfo | None = None
    plan: _Plan | None = None


def handle_ingest(request: IngestRequest) -> IngestResponse:
    """Answer one SDK request (any method) on one of the ENDPOINTS."""
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        wanted = request.headers.get("access-control-request-headers")
        return IngestResponse(200, b"", cors.preflight_headers(origin, wanted))
    if request.method != "POST":
        response = _json_response(405, {"detail": "use POST to send events"})
        response.headers.append(("Allow", cors.ALLOWED_METHODS))
    else:
        context = _Context(request, time.time())
        try:
            with selfmonitor.handling((request.project_id,)):
                response = _accept(context)
        except IngestError as exc:
            _count_refusal(context, exc)
            response = error_response(exc)
    response.headers.extend(cors.response_headers(origin))
    return response


def error_response(exc: IngestError) -> IngestResponse:
    """Return the answer Sentry's SDKs expect for a refused request."""
    response = _json_response(exc.status, {"detail": exc.message})
    response.headers.append(("X-Sentry-Error", _header_safe(exc.message)))
    if isinstance(exc, RateLimited):
        response.headers.extend(
            rate_limit_headers(exc.retry_after, exc.scope, exc.reason)
        )
    return response


def _accept(context: _Context) -> IngestResponse:
    from django.conf import settings

    request = context.request
    headers = request.headers
    public_key = find_public_key(
        headers.get("x-sentry-auth"), headers.get("authorization"), request.query_string
    )
    if public_key is not None:
        context.key = _authenticate(public_key, request)
    elif request.endpoint != "envelope":
        raise Unauthorized("missing authorization: send X-Sentry-Auth or sentry_key")
    body = read_body(
        request.body, request.content_length, settings.INGEST_MAX_REQUEST_BYTES
    )
    encoding = headers.get("content-encoding")
    if context.key is None:
        # The key is in the envelope's header: find it in the first line
        # before inflating up to 200 MiB for someone not yet known.
        head = decompress_prefix(body, encoding, MAX_ENVELOPE_HEADER_BYTES)
        context.key = _authenticate_envelope_header(head, request)
    if request.endpoint == "envelope":
        data = decompress(body, encoding, settings.INGEST_MAX_ENVELOPE_BYTES)
        envelope = parse_envelope(data)
        context.key = _authenticate_envelope(envelope, public_key, context.key, request)
        context.plan = _plan_envelope(envelope, context)
    elif request.endpoint == "store":
        data = decompress(body, encoding, settings.INGEST_MAX_EVENT_BYTES)
        data = decode_store_body(data, settings.INGEST_MAX_EVENT_BYTES)
        context.plan = _plan_store(data, context)
    else:
        data = decompress(body, encoding, settings.INGEST_MAX_EVENT_BYTES)
        context.plan = _plan_security(data, context)
    # Before the rate limits, so a full queue spends nobody's quota.
    check_room(len(context.plan.queued))
    _check_rate_limits(context)
    _enqueue_plan(context, _forward_item(context, data))
    _count_accepted(context)
    payload = {"id": context.plan.response_id} if context.plan.response_id else {}
    return _json_response(200, payload)


def _authenticate(public_key: str, request: IngestRequest) -> KeyInfo:
    from django.db import DatabaseError

    try:
        info = lookup_key(public_key)
    except DatabaseError:
        # PostgreSQL is down and the key is not cached: a retryable answer,
        # so the SDK keeps the event instead of dropping it on a 500.
        raise Unavailable("the database is unavailable; retry later") from None
    if info is None:
        raise Unauthorized("unknown DSN key")
    if not info.serves(request.project_id):
        # The same answer as for a project that does not exist, so keys
        # cannot be used to probe which projects do.
        raise NotFound("unknown project, or the DSN key is not one of its keys")
    if not info.is_active:
        raise Forbidden("this DSN key is disabled")
    origin = request.headers.get("origin")
    if origin and not cors.origin_allowed(origin, info.allowed_origins):
        raise Forbidden(f"origin {origin[:100]} may not send events to this project")
    return info


def _authenticate_envelope_header(head: bytes, request: IngestRequest) -> KeyInfo:
    line = head.split(b"\n", 1)[0]
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BadRequest("the envelope header is not a JSON object") from None
    dsn = header.get("dsn") if isinstance(header, dict) else None
    public_key = key_from_dsn(dsn) if isinstance(dsn, str) else None
    if public_key is None:
        raise Unauthorized(
            "missing authorization: send X-Sentry-Auth, sentry_key or a dsn header"
        )
    return _authenticate(public_key, request)


def _authenticate_envelope(
    envelope: Envelope,
    public_key: str | None,
    key: KeyInfo | None,
    request: IngestRequest,
) -> KeyInfo:
    dsn_key = key_from_dsn(envelope.dsn) if envelope.dsn else None
    if dsn_key is not None and public_key is not None and dsn_key != public_key:
        raise BadRequest("the envelope dsn and the request name different keys")
    if key is not None:
        return key
    if dsn_key is None:
        raise Unauthorized(
            "missing authorization: send X-Sentry-Auth, sentry_key or a dsn header"
        )
    return _authenticate(dsn_key, request)


def _plan_envelope(envelope: Envelope, context: _Context) -> _Plan:
    from django.conf import settings

    plan = _Plan()
    common = _common_header(context, envelope.sent_at)
    event_id = envelope.event_id
    # Events first: attachments take the id of the event they came with.
    for item in envelope.items:
        if item.type not in (EVENT, FEEDBACK):
            continue
        _check_size(item.payload, settings.INGEST_MAX_EVENT_BYTES, item.type)
        if item.type == EVENT:
            plan.event_count += 1
            if plan.event_count > 1:
                raise BadRequest("envelope holds more than one event")
        item_id = event_id or _event_id_of(item.payload, item.type) or _new_event_id()
        event_id = event_id or item_id
        plan.response_id = plan.response_id or item_id
        header = {"type": item.type, "event_id": item_id, **common}
        plan.queued.append(_Queued(category_for_item(item.type), header, item.payload))
    for index, item in enumerate(envelope.items):
        if item.type == ATTACHMENT:
            _plan_attachment(plan, item.headers, item.payload, index, event_id, common)
        elif item.type == USER_REPORT:
            _plan_user_report(plan, item.payload, event_id, common)
        elif item.type in _SESSION_TYPES:
            _plan_sessions(plan, item.type, item.payload)
        elif item.type == "client_report":
            _plan_client_report(plan, item.payload)
        elif item.type not in (EVENT, FEEDBACK):
            plan.counted.append((category_for_item(item.type), "accepted", None))
    return plan


def _plan_attachment(
    plan: _Plan,
    headers: dict[str, Any],
    payload: bytes,
    index: int,
    event_id: str | None,
    common: dict[str, Any],
) -> None:
    from django.conf import settings

    _check_size(payload, settings.INGEST_MAX_ATTACHMENT_BYTES, ATTACHMENT)
    if event_id is None:
        plan.counted.append(("attachment", "invalid", "attachment_without_event"))
        return
    filename = headers.get("filename")
    header = {
        "type": ATTACHMENT,
        "event_id": event_id,
        **common,
        "filename": _short_text(filename, "attachment"),
        "content_type": _short_text(
            headers.get("content_type"), "application/octet-stream"
        ),
        "attachment_type": _short_text(
            headers.get("attachment_type"), "event.attachment"
        ),
        "path": attachment_path(common["project_id"], event_id, index, filename),
    }
    plan.queued.append(_Queued("attachment", header, b"", attachment=payload))


def _plan_user_report(
    plan: _Plan, payload: bytes, event_id: str | None, common: dict[str, Any]
) -> None:
    from django.conf import settings

    _check_size(payload, settings.INGEST_MAX_EVENT_BYTES, USER_REPORT)
    try:
        report_id = _event_id_of(payload, USER_REPORT) or event_id
    except BadRequest:
        report_id = None
    if report_id is None:
        plan.counted.append(("user_report", "invalid", "no_event_id"))
        return
    header = {"type": USER_REPORT, "event_id": report_id, **common}
    plan.queued.append(_Queued("user_report", header, payload))


def _plan_sessions(plan: _Plan, item_type: str, payload: bytes) -> None:
    try:
        counts = session_counts(item_type, payload)
    except ValueError:
        plan.counted.append(("session", "invalid", "malformed_session"))
        return
    plan.sessions.extend(counts)
    plan.counted.append(("session", "accepted", None))


def _plan_client_report(plan: _Plan, payload: bytes) -> None:
    try:
        plan.discarded.extend(client_report_outcomes(payload))
    except ValueError:
        plan.counted.append(("client_report", "invalid", "malformed_report"))
        return
    plan.counted.append(("client_report", "accepted", None))


def _plan_store(data: bytes, context: _Context) -> _Plan:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadRequest("event is not valid JSON") from None
    if not isinstance(event, dict):
        raise BadRequest("event is not a JSON object")
    event_id = normalize_event_id(event.get("event_id")) or _new_event_id()
    header = {"type": EVENT, "event_id": event_id, **_common_header(context, None)}
    plan = _Plan(event_count=1, response_id=event_id)
    plan.queued.append(_Queued("error", header, data))
    return plan


def _plan_security(data: bytes, context: _Context) -> _Plan:
    request = context.request
    params = dict(parse_qsl(request.query_string, max_num_fields=MAX_QUERY_FIELDS))
    events = events_from_report(
        data,
        new_event_id=_new_event_id,
        now=context.now,
        user_agent=request.headers.get("user-agent"),
        environment=params.get("sentry_environment"),
        release=params.get("sentry_release"),
    )
    plan = _Plan(event_count=len(events), response_id=events[0]["event_id"])
    common = _common_header(context, None)
    for event in events:
        header = {"type": EVENT, "event_id": event["event_id"], **common}
        plan.queued.append(_Queued("security", header, orjson.dumps(event)))
    return plan


def _check_rate_limits(context: _Context) -> None:
    from django.conf import settings

    plan, key = context.plan, context.key
    # Everything that will be stored counts: events, and the attachments,
    # user reports and feedback that would otherwise fill the disk past any
    # limit. What is only counted (sessions, client reports) does not.
    stored = len(plan.queued)
    if not stored:
        return
    limits = applicable_limits(
        now=context.now,
        key_id=key.key_id,
        project_id=key.project_id,
        key_per_minute=key.key_rate_limit_per_minute,
        project_per_minute=key.project_rate_limit_per_minute,
        project_per_month=key.project_quota_per_month,
        instance_per_minute=settings.INGEST_RATE_LIMIT_PER_MINUTE,
        instance_per_month=settings.INGEST_QUOTA_PER_MONTH,
    )
    refused = consume_or_allow(limits, stored, context.now)
    if refused is not None:
        raise RateLimited(
            _RATE_LIMIT_MESSAGES[refused.reason].format(limit=refused.limit),
            refused.retry_after,
            refused.scope,
            refused.reason,
        )


_RATE_LIMIT_MESSAGES = {
    "key_rate_limit": "this DSN key's limit of {limit} items a minute is reached",
    "project_rate_limit": "the project's limit of {limit} items a minute is reached",
    "project_quota": "the project's quota of {limit} items a month is used up",
    "instance_rate_limit": "the server's limit of {limit} items a minute is reached",
    "instance_quota": "the server's quota of {limit} items a month is used up",
}


def _forward_item(context: _Context, data: bytes) -> bytes | None:
    """Return the queue item that sends this request's envelope on, when its
    project forwards (CSP reports are not forwarded: they are no envelope)."""
    from django.conf import settings

    endpoint = context.request.endpoint
    if not context.key.forwards or endpoint not in ("envelope", "store"):
        return None
    event_id = context.plan.response_id
    if endpoint == "store":
        data = envelope_for_event(event_id, data)
    header: dict[str, Any] = {
        "type": FORWARD,
        "project_id": context.key.project_id,
        "event_id": event_id,
        "received_at": context.now,
    }
    if len(data) > settings.FORWARD_MAX_BYTES:
        header["skipped"] = "too_large"
        data = b""
    return encode_item(header, data)


def _enqueue_plan(context: _Context, forward: bytes | None = None) -> None:

    written: list[str] = []
    bodies: list[bytes] = [forward] if forward else []
    stats = None
    try:
        for queued in context.plan.queued:
            if queued.attachment is not None:
                written.append(
                    write_attachment(queued.header["path"], queued.attachment)
                )
            bodies.append(encode_item(queued.header, queued.payload))
        # Due stats ride along with this request's own write; a request
        # with nothing to queue leaves them to the flusher rather than
        # depend on the queue for counters alone.
        stats = STATS.take_due(context.now) if bodies else None
        if stats is not None:
            bodies.append(stats.body)
    except (Unavailable, OSError):
        # Nothing reached the queue: the blobs written so far are nobody's.
        remove_attachments(written)
        if stats is not None:
            STATS.restore(stats)
        raise Unavailable("events cannot be stored right now; retry later") from None
    try:
        enqueue(bodies)
    except (Unavailable, OSError):
        # The blobs stay: a queue that failed mid-answer (Redis dropping the
        # connection) may have kept the items, and digest would then find
        # their attachments gone. An unclaimed blob costs only its bytes.
        if stats is not None:
            STATS.restore(stats)
        raise Unavailable("events cannot be stored right now; retry later") from None


def _count_accepted(context: _Context) -> None:
    project_id = context.key.project_id
    plan = context.plan
    now = context.now
    for queued in plan.queued:
        STATS.add_outcome(project_id, queued.category, "accepted", now=now)
    for category, outcome, reason in plan.counted:
        STATS.add_outcome(project_id, category, outcome, reason=reason, now=now)
    for category, reason, quantity in plan.discarded:
        STATS.add_outcome(
            project_id, category, "client_discarded", quantity, reason=reason, now=now
        )
    for release, environment, status, quantity in plan.sessions:
        STATS.add_session(project_id, release, environment, status, quantity, now=now)


def _count_refusal(context: _Context, exc: IngestError) -> None:
    outcome = _FAILURE_OUTCOMES.get(exc.status)
    # Requests without a valid key are not counted: anyone can send them,
    # and they would fill a project's stats with noise.
    if outcome is None or context.key is None:
        return
    project_id = context.key.project_id
    reason = getattr(exc, "reason", None)
    if context.plan is None:
        category = _ENDPOINT_CATEGORIES[context.request.endpoint]
        STATS.add_outcome(project_id, category, outcome, reason=reason, now=context.now)
        return
    categories = [queued.category for queued in context.plan.queued]
    categories += [category for category, _, _ in context.plan.counted]
    for category in categories:
        STATS.add_outcome(project_id, category, outcome, reason=reason, now=context.now)


def _common_header(context: _Context, sent_at: float | None) -> dict[str, Any]:
    return {
        "project_id": context.key.project_id,
        "received_at": context.now,
        "clock_drift": context.now - sent_at if sent_at is not None else 0.0,
        "client_ip": context.request.client_ip,
        "key_id": context.key.key_id,
    }


def _event_id_of(payload: bytes, item_type: str) -> str | None:
    """Return the event_id inside a JSON item, or None when it has none."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadRequest(f"{item_type} item is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{item_type} item is not a JSON object")
    return normalize_event_id(data.get("event_id"), f"{item_type} event_id")


def _new_event_id() -> str:
    return uuid.uuid4().hex


def _check_size(payload: bytes, limit: int, item_type: str) -> None:
    if len(payload) > limit:
        raise TooLarge(
            f"{item_type} item is {len(payload)} bytes; the limit is {limit} bytes"
        )


def _short_text(value: object, default: str) -> str:
    # Header values from the SDK end up in file listings and pages; keep
    # them short strings.
    if isinstance(value, str) and value:
        return value[:200]
    return default


def _header_safe(message: str) -> str:
    text = " ".join(message.split())
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text[:MAX_ERROR_HEADER_LENGTH]


def _json_response(status: int, payload: dict[str, Any]) -> IngestResponse:
    return IngestResponse(status, orjson.dumps(payload), [_JSON])
