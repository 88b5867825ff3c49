"""The pure part of digest: queue items become prepared events, attachments,
reports and stats, or failed items, with no database access, so it can run
in the helper process while the previous batch is written (see batches)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from fixtrail.digest.config import ProjectConfig
from fixtrail.digest.filters import (
    match_inbound_filters,
)
from fixtrail.digest.grouping import compute_grouping
from fixtrail.digest.normalize import (
    NormalizedEvent,
    normalize_event,
)
from fixtrail.events.models import (
    Attachment,
    Outcome,
    UserReport,
)
from fixtrail.events.storage import compress_json
from fixtrail.ingest import items
from fixtrail.ingest.attachments import ATTACHMENTS_PREFIX
from fixtrail.storage import blob_store

logger = logging.getLogger(__name__)
# Bytes of a failing payload kept on its ProcessingError, enough to see
# what the SDK sent without storing a megabyte of it.
MAX_EXCERPT_BYTES = 2000
# ProcessingError.error is for people; a stack of nested reasons is cut.
MAX_ERROR_CHARS = 2000
# Column sizes of the models, for values copied out of event data.
MAX_TITLE_CHARS = 500
MAX_CULPRIT_CHARS = 500
MAX_TYPE_CHARS = 200
MAX_RELEASE_CHARS = 250
MAX_ENVIRONMENT_CHARS = 64
MAX_IDENTITY_CHARS = 250
MAX_TAG_KEY_CHARS = 32
MAX_TAG_VALUE_CHARS = 200
MAX_PLATFORM_CHARS = 32
MAX_NAME_CHARS = 200
MAX_ATTACHMENT_NAME_CHARS = 250
MAX_CONTENT_TYPE_CHARS = 100
MAX_ATTACHMENT_TYPE_CHARS = 50
MAX_REASON_CHARS = 64
MAX_CATEGORY_CHARS = 32
MAX_SESSION_STATUS_CHARS = 16
# Issue.value is a TextField; the list page shows one line of it.
MAX_VALUE_CHARS = 10_000

# ItemCount's outcome names, by the outcome names of ingest's stats items.
_OUTCOMES = {
    "accepted": Outcome.ACCEPTED,
    "filtered": Outcome.FILTERED,
    "rate_limited": Outcome.RATE_LIMITED,
    "client_discarded": Outcome.CLIENT_DISCARD,
    "too_large": Outcome.TOO_LARGE,
    "invalid": Outcome.INVALID,
}


def clean(value: Any, limit: int) -> str:
    """Return ``value`` as text fit for a column of ``limit`` characters.

    NUL characters go: PostgreSQL refuses them in text, and they never
    carry meaning in the fields copied out of an event.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text[:limit]


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def hour_of(moment: dt.datetime) -> dt.datetime:
    """Return the start of the hour ``moment`` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


# -- prepared items ---------------------------------------------------------------


@dataclass
class PreparedEvent:
    """An event ready to write: normalized, hashed, compressed, and the
    fields copied out of it. Holds no reference to the normalized data, so
    it is small to pass between processes."""

    message_id: str
    project_id: int
    event_id: str
    received_at: dt.datetime
    timestamp: dt.datetime
    grouping_hash: str
    blob: bytes
    size: int
    title: str
    culprit: str
    type: str
    value: str
    level: str
    platform: str
    # For the issue list, when this event opens an issue (Issue.metadata).
    metadata: dict[str, str]
    release: str
    environment: str
    identity: str
    email: str
    tags: list[tuple[str, str]]


@dataclass
class FailedItem:
    """An item that could not be digested, and why."""

    message_id: str
    project_id: int | None
    event_id: str
    error: str
    excerpt: str


@dataclass
class Prepared:
    """Everything one batch will write."""

    events: list[PreparedEvent] = field(default_factory=list)
    # (project_id, reason) -> count, and the hour they are counted in.
    filtered: dict[tuple[int, str], int] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    reports: list[UserReport] = field(default_factory=list)
    outcomes: dict[tuple[int, dt.datetime, str, str, str], int] = field(
        default_factory=dict
    )
    sessions: dict[tuple[int, dt.date, str, str, str], int] = field(
        default_factory=dict
    )
    failed: list[FailedItem] = field(default_factory=list)
    # Envelopes to send on (project_id, received_at, body), and per project
    # the ones too large to (fixtrail.adoption.forwarding).
    forwards: list[tuple[int, dt.datetime, bytes]] = field(default_factory=list)
    forwards_skipped: dict[int, int] = field(default_factory=dict)

    def extend(self, other: Prepared) -> None:
        """Add ``other`` after this: the same as one prepare() over this
        batch's items followed by ``other``'s. Lists are appended to, and
        counts (every dict field) added up."""
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                for key, count in theirs.items():
                    mine[key] = mine.get(key, 0) + count


@dataclass
class BatchResult:
    """What digesting a batch did, for logs, tests and the benchmark."""

    messages: int = 0
    events_stored: int = 0
    duplicates: int = 0
    filtered: int = 0
    errors: int = 0
    issues_created: int = 0
    regressions: int = 0
    escalations: int = 0
    attachments: int = 0
    reports: int = 0
    # Wall-clock seconds spent on the pure work and in the transaction.
    prepare_seconds: float = 0.0
    write_seconds: float = 0.0
    # What changed, for what runs after digest (alerts, notifications).
    new_issue_ids: list[int] = field(default_factory=list)
    regressed_issue_ids: list[int] = field(default_factory=list)
    escalated_issue_ids: list[int] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        """Add ``other``'s counts and ids to this result."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _excerpt(payload: bytes) -> str:
    return clean(payload[:MAX_EXCERPT_BYTES].decode("utf-8", "replace"), 10**6)


def record_failure(
    prepared: Prepared,
    message_id: str,
    header: dict[str, Any],
    payload: bytes,
    error: str,
) -> None:
    """Add an item that could not be digested to ``prepared`` as a failure,
    with an excerpt of its payload, to be stored as a ProcessingError."""
    project_id = header.get("project_id")
    event_id = header.get("event_id")
    prepared.failed.append(
        FailedItem(
            message_id=message_id,
            project_id=project_id if type(project_id) is int else None,
            event_id=clean(event_id, 32) if isinstance(event_id, str) else "",
            error=clean(error, MAX_ERROR_CHARS),
            excerpt=_excerpt(payload),
        )
    )


def _received_at(header: dict[str, Any]) -> float:
    received = header.get("received_at")
    if type(received) in (int, float) and received > 0:
        return float(received)
    return time.time()


def _prepare_event(
    config: ProjectConfig, message_id: str, header: dict[str, Any], payload: bytes
) -> PreparedEvent | str:
    """Return the prepared event, or the name of the filter that drops it."""
    received = _received_at(header)
    drift = header.get("clock_drift")
    raw = orjson.loads(payload)
    normalized = normalize_event(
        raw,
        received_at=received,
        clock_drift=float(drift) if type(drift) in (int, float) else 0.0,
        options=config.options,
        event_id=header.get("event_id"),
        client_ip=header.get("client_ip"),
    )
    reason = (
        match_inbound_filters(normalized, config.filters)
        if config.filters.enabled
        else None
    )
    if reason:
        return reason
    project = config.project
    group_hash = compute_grouping(
        normalized.data,
        version=project.grouping_version,
        fingerprint_rules=config.fingerprint_rules,
        stacktrace_rules=config.options.stacktrace_rules,
    ).hash
    stored = orjson.dumps(normalized.data)
    user = normalized.data.get("user") or {}
    # The event time is believed only up to when the server got it: a
    # device clock ahead of the server must not make last_seen lie.
    timestamp = min(normalized.timestamp, received)
    return PreparedEvent(
        message_id=message_id,
        project_id=project.pk,
        # Ingest always sets one; a hand-made queue item may not have.
        event_id=normalized.event_id or uuid.uuid4().hex,
        received_at=_utc(received),
        timestamp=_utc(timestamp),
        grouping_hash=group_hash,
        blob=compress_json(stored),
        size=len(stored),
        title=clean(normalized.title, MAX_TITLE_CHARS),
        culprit=clean(normalized.culprit, MAX_CULPRIT_CHARS),
        type=clean(normalized.type, MAX_TYPE_CHARS),
        value=clean(normalized.value, MAX_VALUE_CHARS),
        level=normalized.level,
        platform=clean(normalized.platform, MAX_PLATFORM_CHARS),
        metadata=issue_metadata(normalized),
        release=clean(normalized.release, MAX_RELEASE_CHARS),
        environment=clean(normalized.environment, MAX_ENVIRONMENT_CHARS),
        identity=clean(normalized.user_key, MAX_IDENTITY_CHARS),
        email=clean(user.get("email"), MAX_IDENTITY_CHARS),
        tags=[
            (clean(k, MAX_TAG_KEY_CHARS), clean(v, MAX_TAG_VALUE_CHARS))
            for k, v in normalized.tags
        ],
    )


def _prepare_attachment(project_id: int, header: dict[str, Any]) -> Attachment:
    relative = header.get("path")
    if not isinstance(relative, str) or not relative or ".." in relative.split("/"):
        raise ValueError("attachment item has no valid path")
    key = ATTACHMENTS_PREFIX + relative
    size = blob_store().size(key)
    if size is None:
        raise ValueError(f"attachment {relative} is missing from storage")
    return Attachment(
        project_id=project_id,
        event_id=clean(header.get("event_id"), 32),
        name=clean(
            header.get("filename") or relative.rpartition("/")[2],
            MAX_ATTACHMENT_NAME_CHARS,
        ),
        content_type=clean(header.get("content_type"), MAX_CONTENT_TYPE_CHARS),
        attachment_type=clean(
            header.get("attachment_type") or "event.attachment",
            MAX_ATTACHMENT_TYPE_CHARS,
        ),
        size=size,
        path=key,
        created_at=_utc(_received_at(header)),
    )


def _text_field(data: dict[str, Any], key: str) -> Any:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _prepare_report(
    project_id: int, header: dict[str, Any], payload: bytes, kind: str
) -> UserReport:
    data = orjson.loads(payload)
    if not isinstance(data, dict):
        raise ValueError(f"a {kind} must be a JSON object")
    created_at = _utc(_received_at(header))
    if kind == items.USER_REPORT:
        event_id = header.get("event_id") or _text_field(data, "event_id")
        name, email = _text_field(data, "name"), _text_field(data, "email")
        comments = _text_field(data, "comments")
    else:
        contexts = data.get("contexts")
        feedback = contexts.get("feedback") if isinstance(contexts, dict) else None
        if not isinstance(feedback, dict):
            raise ValueError("a feedback item needs contexts.feedback")
        # Feedback about an event is filed under that event; feedback on
        # its own under its own id.
        event_id = _text_field(feedback, "associated_event_id") or header.get(
            "event_id"
        )
        name = _text_field(feedback, "name")
        email = _text_field(feedback, "contact_email")
        comments = _text_field(feedback, "message")
    return UserReport(
        project_id=project_id,
        event_id=clean(str(event_id or "").replace("-", "").lower(), 32),
        name=clean(name, MAX_NAME_CHARS),
        email=clean(email, MAX_NAME_CHARS),
        comments=clean(comments, 10**6),
        created_at=created_at,
    )


def _prepare_stats(prepared: Prepared, header: dict[str, Any], payload: bytes) -> None:
    data = orjson.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("a stats item must be a JSON object")
    start = data.get("interval_start")
    moment = _utc(start if type(start) in (int, float) else _received_at(header))
    hour, day = hour_of(moment), moment.date()
    for row in data.get("outcomes") or ():
        if not isinstance(row, dict) or type(row.get("project_id")) is not int:
            continue
        outcome = _OUTCOMES.get(row.get("outcome"))
        quantity = row.get("quantity")
        if outcome is None or type(quantity) is not int or quantity <= 0:
            continue
        key = (
            row["project_id"],
            hour,
            clean(row.get("category") or "unknown", MAX_CATEGORY_CHARS),
            str(outcome),
            clean(row.get("reason") or "", MAX_REASON_CHARS),
        )
        prepared.outcomes[key] = prepared.outcomes.get(key, 0) + quantity
    for row in data.get("sessions") or ():
        if not isinstance(row, dict) or type(row.get("project_id")) is not int:
            continue
        quantity = row.get("quantity")
        if type(quantity) is not int or quantity <= 0:
            continue
        key = (
            row["project_id"],
            day,
            clean(row.get("release") or "", MAX_RELEASE_CHARS),
            clean(row.get("environment") or "", MAX_ENVIRONMENT_CHARS),
            clean(row.get("status") or "", MAX_SESSION_STATUS_CHARS),
        )
        prepared.sessions[key] = prepared.sessions.get(key, 0) + quantity


def _prepare_forward(
    prepared: Prepared, project_id: int, header: dict[str, Any], payload: bytes
) -> None:
    if header.get("skipped"):
        skipped = prepared.forwards_skipped
        skipped[project_id] = skipped.get(project_id, 0) + 1
    elif payload:
        received_at = _utc(_received_at(header))
        prepared.forwards.append((project_id, received_at, payload))


def prepare(
    decoded: Sequence[tuple[str, dict[str, Any], bytes]],
    configs: dict[int, ProjectConfig],
    prepared: Prepared | None = None,
) -> Prepared:
    """Do the pure part of digest for decoded messages ``(id, header,
    payload)``; ``configs`` holds every project they may name."""
    prepared = prepared or Prepared()
    for message_id, header, payload in decoded:
        kind = header.get("type")
        try:
            payload = items.item_payload(header, payload)
            if kind == items.STATS:
                _prepare_stats(prepared, header, payload)
                continue
            config = configs.get(header.get("project_id"))
            if config is None:
                # The project was deleted after ingest accepted the item.
                logger.info("dropping %s item of unknown project", kind)
                continue
            project_id = config.project.pk
            if kind == items.EVENT:
                result = _prepare_event(config, message_id, header, payload)
                if isinstance(result, str):
                    key = (project_id, result)
                    prepared.filtered[key] = prepared.filtered.get(key, 0) + 1
                else:
                    prepared.events.append(result)
            elif kind == items.ATTACHMENT:
                prepared.attachments.append(_prepare_attachment(project_id, header))
            elif kind in (items.USER_REPORT, items.FEEDBACK):
                prepared.reports.append(
                    _prepare_report(project_id, header, payload, kind)
                )
            elif kind == items.FORWARD:
                _prepare_forward(prepared, project_id, header, payload)
            else:
                raise ValueError(f"unknown item type {kind!r}")
        except Exception as exc:  # one bad item must not stop a batch
            record_failure(
                prepared, message_id, header, payload, f"{type(exc).__name__}: {exc}"
            )
    return prepared


def issue_metadata(normalized: NormalizedEvent) -> dict[str, str]:
    """Return what an issue shows of its first event: the exception's type
    and value, and the file and function of the top in-app frame."""
    metadata = {"type": normalized.type, "value": normalized.value[:500]}
    exceptions = normalized.data.get("exception", {}).get("values") or []
    frames = []
    if exceptions and "stacktrace" in exceptions[-1]:
        frames = exceptions[-1]["stacktrace"]["frames"]
    elif "stacktrace" in normalized.data:
        frames = normalized.data["stacktrace"]["frames"]
    top = next((f for f in reversed(frames) if f.get("in_app") is True), None)
    top = top or (frames[-1] if frames else None)
    if top is not None:
        metadata["filename"] = top.get("filename") or top.get("abs_path") or ""
        metadata["function"] = top.get("function") or ""
    return {k: clean(v, 500) for k, v in metadata.items() if v}
