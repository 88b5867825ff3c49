"""Digest a batch of queued items into the database in one transaction.

The pure work happens first, item by item and outside any transaction:
decode the queue message, parse and normalize the event, apply the
project's inbound filters, compute the grouping hash, compress. An item
that fails there becomes a ProcessingError and the batch goes on.

Then one transaction writes everything, with a fixed number of statements
per table whatever the batch size:

1. claim the events' (project, event_id) keys in EventKey; only the keys
   this batch inserted are new, so a redelivered event changes nothing;
2. lock the existing issues the batch touches (id order), create issues
   for unknown grouping hashes (short ids from Project.next_short_id, a
   FIRST_SEEN activity each);
3. decide regressions and ignore ends (fixtrail.issues.lifecycle);
4. insert the events (bulk), then add to the aggregates with
   ``INSERT ... ON CONFLICT`` upserts: hourly counts, tag values (release
   and environment included), affected users; update each issue once;
5. count filtered events, store attachments, user reports, feedback,
   processing errors and the stats ingest sent.

If the transaction fails (a database error, a row some column refuses),
the batch is retried one item per transaction, so only the item at fault
becomes a ProcessingError. If even that cannot be written the exception
propagates: the database is down, nothing is acknowledged, and the queue
delivers the items again later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Min

from fixtrail.adoption import forwarding
from fixtrail.adoption.matching import claim_imported_issues
from fixtrail.core import selfmonitor, upserts
from fixtrail.digest.filters import (
    FilterSettings,
    build_filters,
    match_inbound_filters,
)
from fixtrail.digest.fingerprint_rules import (
    FingerprintRules,
    RuleSyntaxError,
    StacktraceRules,
    parse_fingerprint_rules,
    parse_stacktrace_rules,
)
from fixtrail.digest.grouping import compute_grouping
from fixtrail.digest.normalize import (
    NormalizedEvent,
    NormalizeOptions,
    normalize_event,
)
from fixtrail.digest.scrub import keys_from_text
from fixtrail.events import partitions
from fixtrail.events.models import (
    Attachment,
    Event,
    EventKey,
    ItemCount,
    Outcome,
    ProcessingError,
    SessionCount,
    UserReport,
)
from fixtrail.events.storage import compress_json
from fixtrail.ingest import items
from fixtrail.ingest.attachments import ATTACHMENTS_PREFIX, attachment_slot
from fixtrail.issues import arrivals as issue_arrivals
from fixtrail.issues import lifecycle
from fixtrail.issues.actions import ESCALATED_FIELDS, REGRESSED_FIELDS
from fixtrail.issues.models import (
    Activity,
    HourlyCount,
    Issue,
    IssueHash,
    IssueUser,
    Status,
    Substatus,
    TagValue,
)
from fixtrail.projects.models import Project
from fixtrail.queue import Message
from fixtrail.releases.fixes import fix_details
from fixtrail.releases.recording import record_event_releases
from fixtrail.storage import blob_store
from fixtrail.symbols.lookup import attach_symbols

logger = logging.getLogger(__name__)

# Errors of the database, not of the item being written: a locked SQLite
# file, a lost connection, a deadlock or serialization failure. Django wraps
# psycopg's as its own; the COPY path uses a raw cursor and sees psycopg's.
TRANSIENT_DATABASE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

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
# Bulk inserts are split into statements of this many rows: big enough that
# per-statement overhead vanishes, small enough for SQLite's parameter cap.
BULK_BATCH_SIZE = 500

# ItemCount's outcome names, by the outcome names of ingest's stats items.
_OUTCOMES = {
    "accepted": Outcome.ACCEPTED,
    "filtered": Outcome.FILTERED,
    "rate_limited": Outcome.RATE_LIMITED,
    "client_discarded": Outcome.CLIENT_DISCARD,
    "too_large": Outcome.TOO_LARGE,
    "invalid": Outcome.INVALID,
}


def _clean(value: Any, limit: int) -> str:
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


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# -- per-project configuration --------------------------------------------------


@dataclass
class ProjectConfig:
    """A project's settings turned into the objects digest uses, built once
    per project per batch."""

    project: Project
    options: NormalizeOptions
    fingerprint_rules: FingerprintRules
    filters: FilterSettings


def _parse_rules(project: Project) -> tuple[FingerprintRules, StacktraceRules]:
    # The settings page refuses rules that do not parse; a text that fails
    # here was stored some other way, and grouping without it beats not
    # storing events at all.
    try:
        fingerprint = parse_fingerprint_rules(project.fingerprint_rules)
    except RuleSyntaxError as exc:
        logger.warning("project %s: ignoring fingerprint rules: %s", project.pk, exc)
        fingerprint = FingerprintRules()
    try:
        stacktrace = parse_stacktrace_rules(project.stacktrace_rules)
    except RuleSyntaxError as exc:
        logger.warning("project %s: ignoring stack-trace rules: %s", project.pk, exc)
        stacktrace = StacktraceRules()
    return fingerprint, stacktrace


def project_config(project: Project) -> ProjectConfig:
    """Return the digest configuration of ``project``."""
    fingerprint, stacktrace = _parse_rules(project)
    options = NormalizeOptions(
        scrub_data=project.scrub_data,
        scrub_fields=keys_from_text(project.scrub_fields),
        scrub_ip_addresses=project.scrub_ip_addresses,
        stacktrace_rules=stacktrace,
    )
    return ProjectConfig(project, options, fingerprint, build_filters(project))


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
    return _clean(payload[:MAX_EXCERPT_BYTES].decode("utf-8", "replace"), 10**6)


def _fail(
    prepared: Prepared,
    message_id: str,
    header: dict[str, Any],
    payload: bytes,
    error: str,
) -> None:
    project_id = header.get("project_id")
    event_id = header.get("event_id")
    prepared.failed.append(
        FailedItem(
            message_id=message_id,
            project_id=project_id if type(project_id) is int else None,
            event_id=_clean(event_id, 32) if isinstance(event_id, str) else "",
            error=_clean(error, MAX_ERROR_CHARS),
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
        title=_clean(normalized.title, MAX_TITLE_CHARS),
        culprit=_clean(normalized.culprit, MAX_CULPRIT_CHARS),
        type=_clean(normalized.type, MAX_TYPE_CHARS),
        value=_clean(normalized.value, MAX_VALUE_CHARS),
        level=normalized.level,
        platform=_clean(normalized.platform, MAX_PLATFORM_CHARS),
        metadata=_metadata(normalized),
        release=_clean(normalized.release, MAX_RELEASE_CHARS),
        environment=_clean(normalized.environment, MAX_ENVIRONMENT_CHARS),
        identity=_clean(normalized.user_key, MAX_IDENTITY_CHARS),
        email=_clean(user.get("email"), MAX_IDENTITY_CHARS),
        tags=[
            (_clean(k, MAX_TAG_KEY_CHARS), _clean(v, MAX_TAG_VALUE_CHARS))
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
        event_id=_clean(header.get("event_id"), 32),
        name=_clean(
            header.get("filename") or relative.rpartition("/")[2],
            MAX_ATTACHMENT_NAME_CHARS,
        ),
        content_type=_clean(header.get("content_type"), MAX_CONTENT_TYPE_CHARS),
        attachment_type=_clean(
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
        event_id=_clean(str(event_id or "").replace("-", "").lower(), 32),
        name=_clean(name, MAX_NAME_CHARS),
        email=_clean(email, MAX_NAME_CHARS),
        comments=_clean(comments, 10**6),
        created_at=created_at,
    )


def _prepare_stats(prepared: Prepared, header: dict[str, Any], payload: bytes) -> None:
    data = orjson.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("a stats item must be a JSON object")
    start = data.get("interval_start")
    moment = _utc(start if type(start) in (int, float) else _received_at(header))
    hour, day = _hour(moment), moment.date()
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
            _clean(row.get("category") or "unknown", MAX_CATEGORY_CHARS),
            str(outcome),
            _clean(row.get("reason") or "", MAX_REASON_CHARS),
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
            _clean(row.get("release") or "", MAX_RELEASE_CHARS),
            _clean(row.get("environment") or "", MAX_ENVIRONMENT_CHARS),
            _clean(row.get("status") or "", MAX_SESSION_STATUS_CHARS),
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
            _fail(prepared, message_id, header, payload, f"{type(exc).__name__}: {exc}")
    return prepared


# -- the transaction ----------------------------------------------------------------


@dataclass
class _IssueBatch:
    """What the batch adds to one issue."""

    events: list[PreparedEvent] = field(default_factory=list)
    new_users: int = 0


def _claim_new_events(events: list[PreparedEvent], result: BatchResult):
    """Insert the events' keys; return the events whose keys were new."""
    unique: dict[tuple[int, str], PreparedEvent] = {}
    for event in events:
        unique.setdefault((event.project_id, event.event_id), event)
    inserted = upserts.insert_new(
        EventKey,
        [
            {"project": pid, "event_id": eid, "received_at": event.received_at}
            for (pid, eid), event in unique.items()
        ],
        key=("project", "event_id"),
    )
    fresh = [event for key, event in unique.items() if key in inserted]
    result.duplicates += len(events) - len(fresh)
    return fresh


def _lock_issues(ids: Iterable[int]) -> dict[int, Issue]:
    """Lock and return the issues with these ids, in id order.

    The texts digest never reads are left out of the query (touching them
    on these instances would cost a query each).
    """
    return {
        issue.pk: issue
        for issue in Issue.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .defer("title", "culprit", "value", "metadata")
        .order_by("pk")
    }


def _metadata(normalized: NormalizedEvent) -> dict[str, str]:
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
    return {k: _clean(v, 500) for k, v in metadata.items() if v}


def _create_issues(
    project: Project, groups: dict[str, list[PreparedEvent]], result: BatchResult
) -> dict[str, Issue]:
    """Create an issue per hash in ``groups``; return them by hash.

    A hash another process claimed meanwhile (PostgreSQL) maps to that
    process's issue instead, and the issue made here is deleted again.
    """
    project_id = project.pk
    hashes = sorted(groups)
    count = len(hashes)
    Project.objects.filter(pk=project_id).update(
        next_short_id=F("next_short_id") + count
    )
    end = Project.objects.filter(pk=project_id).values_list("next_short_id", flat=True)[
        0
    ]
    issues = []
    for offset, group_hash in enumerate(hashes):
        first = min(groups[group_hash], key=lambda e: e.timestamp)
        issues.append(
            Issue(
                project_id=project_id,
                short_id=end - count + offset,
                title=first.title,
                culprit=first.culprit,
                type=first.type,
                value=first.value,
                level=first.level,
                platform=first.platform,
                metadata=first.metadata,
                first_seen=first.timestamp,
                last_seen=first.timestamp,
                times_seen=0,
                user_count=0,
                first_release=first.release,
                last_release=first.release,
                status=Status.UNRESOLVED,
                substatus=Substatus.NEW,
            )
        )
    Issue.objects.bulk_create(issues, batch_size=BULK_BATCH_SIZE)
    by_hash = dict(zip(hashes, issues, strict=True))
    claimed = upserts.insert_new(
        IssueHash,
        [
            {
                "project": project_id,
                "hash": h,
                "issue": by_hash[h].pk,
                "grouping_version": project.grouping_version,
            }
            for h in hashes
        ],
        key=("project", "hash"),
    )
    lost = [h for h in hashes if (project_id, h) not in claimed]
    if lost:
        Issue.objects.filter(pk__in=[by_hash[h].pk for h in lost]).delete()
        winners = dict(
            IssueHash.objects.filter(project_id=project_id, hash__in=lost).values_list(
                "hash", "issue_id"
            )
        )
        locked = _lock_issues(winners.values())
        for h in lost:
            by_hash[h] = locked[winners[h]]
    won = [by_hash[h] for h in hashes if h not in lost]
    result.issues_created += len(won)
    result.new_issue_ids += [issue.pk for issue in won]
    Activity.objects.bulk_create(
        Activity(
            issue=issue, kind=Activity.Kind.FIRST_SEEN, created_at=issue.first_seen
        )
        for issue in won
    )
    return by_hash


def _release_first_seen(
    project_id: int, releases: set[str], batch_first: dict[str, dt.datetime]
) -> dict[str, dt.datetime]:
    """When the project first saw each release, this batch included."""
    stored = dict(
        TagValue.objects.filter(
            issue__project_id=project_id, key="release", value__in=sorted(releases)
        )
        .values_list("value")
        .annotate(first=Min("first_seen"))
        .values_list("value", "first")
    )
    for release, moment in batch_first.items():
        if release not in stored:
            stored[release] = moment
    return stored


def _apply_regressions(
    project_events: dict[int, list[PreparedEvent]],
    issues: dict[int, Issue],
    batches: dict[int, _IssueBatch],
    now: dt.datetime,
    result: BatchResult,
) -> list[Activity]:
    activities = []
    for project_id, events in project_events.items():
        resolved = [
            issue
            for issue in (issues[i] for i in batches)
            if issue.project_id == project_id and issue.status == Status.RESOLVED
        ]
        if not resolved:
            continue
        batch_first: dict[str, dt.datetime] = {}
        for event in events:
            if event.release and (
                event.release not in batch_first
                or event.received_at < batch_first[event.release]
            ):
                batch_first[event.release] = event.received_at
        wanted = set(batch_first) | {
            i.resolved_in_release for i in resolved if i.resolved_in_release
        }
        first_seen = _release_first_seen(project_id, wanted, batch_first)
        for issue in resolved:
            resolution = issue.resolution()
            for event in sorted(batches[issue.pk].events, key=lambda e: e.received_at):
                if lifecycle.is_regression(
                    resolution,
                    event_release=event.release,
                    event_received_at=event.received_at,
                    release_first_seen=first_seen,
                ):
                    # A fix-by-commit regression names its fix.
                    fix = fix_details(project_id, issue.resolved_in_commit)
                    for name, value in REGRESSED_FIELDS.items():
                        setattr(issue, name, value)
                    activities.append(
                        Activity(
                            issue=issue,
                            kind=Activity.Kind.REGRESSION,
                            data={
                                "release": event.release,
                                "event_id": event.event_id,
                                **fix,
                            },
                            created_at=now,
                        )
                    )
                    result.regressions += 1
                    result.regressed_issue_ids.append(issue.pk)
                    break
    return activities


def _apply_escalations(
    issues: dict[int, Issue], now: dt.datetime, result: BatchResult
) -> list[Activity]:
    """Bring back ignored issues whose condition the batch met (run after
    the batch's events and users are stored, since windows count them)."""
    activities = []
    for issue in issues.values():
        conditions = issue.ignore_conditions()
        if conditions is None or conditions.is_forever:
            continue
        since = issue.ignored_at or now
        in_window = users_in_window = None
        if conditions.count is not None and conditions.window_minutes:
            start = max(since, now - dt.timedelta(minutes=conditions.window_minutes))
            in_window = Event.objects.filter(
                issue_id=issue.pk, timestamp__gte=start
            ).count()
        if conditions.user_count is not None and conditions.user_window_minutes:
            start = max(
                since, now - dt.timedelta(minutes=conditions.user_window_minutes)
            )
            users_in_window = IssueUser.objects.filter(
                issue_id=issue.pk, first_seen__gte=start
            ).count()
        reason = lifecycle.ignore_end_reason(
            conditions,
            now=now,
            times_seen=issue.times_seen,
            user_count=issue.user_count,
            count_in_window=in_window,
            users_in_window=users_in_window,
        )
        if reason is not None:
            for name, value in ESCALATED_FIELDS.items():
                setattr(issue, name, value)
            activities.append(
                Activity(
                    issue=issue,
                    kind=Activity.Kind.ESCALATING,
                    data={"reason": reason},
                    created_at=now,
                )
            )
            result.escalations += 1
            result.escalated_issue_ids.append(issue.pk)
    return activities


def _aggregate_rows(batches: dict[int, _IssueBatch]):
    hourly: dict[tuple[int, dt.datetime], int] = defaultdict(int)
    tags: dict[tuple[int, str, str], list] = {}
    users: dict[tuple[int, str], list] = {}
    for issue_id, batch in batches.items():
        for event in batch.events:
            ts = event.timestamp
            hourly[(issue_id, _hour(ts))] += 1
            for key, value in event.tags:
                row = tags.get((issue_id, key, value))
                if row is None:
                    tags[(issue_id, key, value)] = [1, ts, ts]
                else:
                    row[0] += 1
                    row[1] = min(row[1], ts)
                    row[2] = max(row[2], ts)
            if event.identity:
                row = users.get((issue_id, event.identity))
                if row is None:
                    users[(issue_id, event.identity)] = [event.email, ts, ts]
                else:
                    row[0] = row[0] or event.email
                    row[1] = min(row[1], ts)
                    row[2] = max(row[2], ts)
    return hourly, tags, users


def _write_aggregates(batches: dict[int, _IssueBatch]) -> None:
    hourly, tags, users = _aggregate_rows(batches)
    upserts.upsert_add(
        HourlyCount,
        [{"issue": i, "hour": h, "count": c} for (i, h), c in hourly.items()],
        key=("issue", "hour"),
        add=("count",),
    )
    upserts.upsert_add(
        TagValue,
        [
            {
                "issue": i,
                "key": k,
                "value": v,
                "times_seen": n,
                "first_seen": first,
                "last_seen": last,
            }
            for (i, k, v), (n, first, last) in tags.items()
        ],
        key=("issue", "key", "value"),
        add=("times_seen",),
        least=("first_seen",),
        greatest=("last_seen",),
    )
    if users:
        identities = sorted({identity for _, identity in users})
        known = set(
            IssueUser.objects.filter(
                issue_id__in=list(batches), identity__in=identities
            ).values_list("issue_id", "identity")
        )
        for issue_id, identity in users:
            if (issue_id, identity) not in known:
                batches[issue_id].new_users += 1
        upserts.upsert_add(
            IssueUser,
            [
                {
                    "issue": i,
                    "identity": ident,
                    "email": email,
                    "first_seen": first,
                    "last_seen": last,
                }
                for (i, ident), (email, first, last) in users.items()
            ],
            key=("issue", "identity"),
            least=("first_seen",),
            greatest=("last_seen",),
        )


# The issue fields every batch changes; state changes (regressions, ignores
# ending) are written separately, for the few issues they concern.
_COUNTER_FIELDS = (
    "times_seen",
    "user_count",
    "first_seen",
    "last_seen",
    "first_release",
    "last_release",
)


def _count_into_issues(issues: dict[int, Issue], batches: dict[int, _IssueBatch]):
    for issue_id, batch in batches.items():
        issue = issues[issue_id]
        events = batch.events
        issue.times_seen += len(events)
        issue.user_count += batch.new_users
        first_seen, last_seen = issue.first_seen, issue.last_seen
        issue.first_seen = min(first_seen, min(e.timestamp for e in events))
        issue.last_seen = max(last_seen, max(e.timestamp for e in events))
        released = [e for e in events if e.release]
        if not released:
            continue
        # Of events with the same time, the last one queued is the latest.
        newest = max(reversed(released), key=lambda e: e.timestamp)
        oldest = min(released, key=lambda e: e.timestamp)
        if newest.timestamp >= last_seen or not issue.last_release:
            issue.last_release = newest.release
        if oldest.timestamp < first_seen or not issue.first_release:
            issue.first_release = oldest.release


def _write_events(
    events: list[PreparedEvent],
    configs: dict[int, ProjectConfig],
    now: dt.datetime,
    result: BatchResult,
) -> None:
    if not events:
        return
    events = _claim_new_events(events, result)
    if not events:
        return
    by_project: dict[int, list[PreparedEvent]] = defaultdict(list)
    for event in events:
        by_project[event.project_id].append(event)
    hashes = sorted({e.grouping_hash for e in events})
    known = {
        (project_id, group_hash): issue_id
        for project_id, group_hash, issue_id in IssueHash.objects.filter(
            project_id__in=list(by_project), hash__in=hashes
        ).values_list("project_id", "hash", "issue_id")
    }
    issues = _lock_issues(known.values())
    issue_of: dict[tuple[int, str], Issue] = {
        key: issues[issue_id] for key, issue_id in known.items() if issue_id in issues
    }
    # Projects in id order: creating issues locks the project row (short
    # ids), and two workers must take those locks in the same order.
    for project_id, project_events in sorted(by_project.items()):
        unknown: dict[str, list[PreparedEvent]] = defaultdict(list)
        for event in project_events:
            if (project_id, event.grouping_hash) not in issue_of:
                unknown[event.grouping_hash].append(event)
        if unknown:
            # Issues imported from another server wait for their first
            # event by title and culprit (fixtrail.adoption.matching).
            project = configs[project_id].project
            adopted = claim_imported_issues(
                project_id, project.grouping_version, unknown
            )
            locked = _lock_issues(adopted.values())
            issues.update(locked)
            for group_hash, issue_id in adopted.items():
                issue_of[(project_id, group_hash)] = locked[issue_id]
                del unknown[group_hash]
        if unknown:
            created = _create_issues(configs[project_id].project, unknown, result)
            for group_hash, issue in created.items():
                issue_of[(project_id, group_hash)] = issue
                issues[issue.pk] = issue
    batches: dict[int, _IssueBatch] = defaultdict(_IssueBatch)
    rows = []
    for event in events:
        issue = issue_of[(event.project_id, event.grouping_hash)]
        batches[issue.pk].events.append(event)
        rows.append(
            {
                "project": event.project_id,
                "issue": issue.pk,
                "event_id": event.event_id,
                "timestamp": event.timestamp,
                "received_at": event.received_at,
                "title": event.title,
                "level": event.level,
                "release": event.release,
                "environment": event.environment,
                "user_identity": event.identity,
                "grouping_hash": event.grouping_hash,
                "data": event.blob,
                "size": event.size,
            }
        )
    activities = _apply_regressions(by_project, issues, batches, now, result)
    upserts.insert_rows(Event, rows)
    result.events_stored += len(rows)
    _write_aggregates(batches)
    _count_into_issues(issues, batches)
    touched = {pk: issues[pk] for pk in batches}
    activities += _apply_escalations(touched, now, result)
    upserts.update_rows(
        Issue,
        [
            {"pk": issue.pk, **{name: getattr(issue, name) for name in _COUNTER_FIELDS}}
            for issue in touched.values()
        ],
        _COUNTER_FIELDS,
    )
    for activity in activities:
        fields = (
            REGRESSED_FIELDS
            if activity.kind == Activity.Kind.REGRESSION
            else ESCALATED_FIELDS
        )
        Issue.objects.filter(pk=activity.issue.pk).update(**fields)
    Activity.objects.bulk_create(activities)


def _write_others(prepared: Prepared, now: dt.datetime, result: BatchResult) -> None:
    if prepared.forwards or prepared.forwards_skipped:
        forwarding.store_forwards(prepared.forwards, prepared.forwards_skipped)
    hour = _hour(now)
    outcomes = dict(prepared.outcomes)
    for (project_id, reason), count in prepared.filtered.items():
        key = (project_id, hour, "error", str(Outcome.FILTERED), reason)
        outcomes[key] = outcomes.get(key, 0) + count
        result.filtered += count
    if outcomes or prepared.sessions:
        # Stats name projects by id; rows for deleted ones are dropped
        # rather than failing the batch on the foreign key.
        ids = {key[0] for key in outcomes} | {key[0] for key in prepared.sessions}
        existing = set(Project.objects.filter(pk__in=ids).values_list("pk", flat=True))
        upserts.upsert_add(
            ItemCount,
            [
                {
                    "project": p,
                    "hour": h,
                    "item_type": t,
                    "outcome": o,
                    "reason": r,
                    "count": c,
                }
                for (p, h, t, o, r), c in outcomes.items()
                if p in existing
            ],
            key=("project", "hour", "item_type", "outcome", "reason"),
            add=("count",),
        )
        upserts.upsert_add(
            SessionCount,
            [
                {
                    "project": p,
                    "day": d,
                    "release": r,
                    "environment": e,
                    "status": s,
                    "count": c,
                }
                for (p, d, r, e, s), c in prepared.sessions.items()
                if p in existing
            ],
            key=("project", "day", "release", "environment", "status"),
            add=("count",),
        )
    if prepared.attachments:
        # A redelivered item, or an envelope sent again with the same event
        # id, brings an attachment the event has already: the first stays.
        stored = {
            (project_id, attachment_slot(path))
            for project_id, path in Attachment.objects.filter(
                project_id__in={a.project_id for a in prepared.attachments},
                event_id__in={a.event_id for a in prepared.attachments},
            ).values_list("project_id", "path")
        }
        fresh = {}
        for attachment in prepared.attachments:
            key = (attachment.project_id, attachment_slot(attachment.path))
            if key not in stored and key not in fresh:
                fresh[key] = attachment
        Attachment.objects.bulk_create(fresh.values())
        result.attachments += len(fresh)
    if prepared.reports:
        UserReport.objects.bulk_create(prepared.reports)
        result.reports += len(prepared.reports)
    _write_failures(prepared.failed, result)


def _write_failures(failed: list[FailedItem], result: BatchResult) -> None:
    rows = [
        ProcessingError(
            project_id=item.project_id,
            event_id=item.event_id,
            error=item.error,
            excerpt=item.excerpt,
        )
        for item in failed
        if item.project_id is not None
    ]
    if rows:
        ids = set(
            Project.objects.filter(pk__in={r.project_id for r in rows}).values_list(
                "pk", flat=True
            )
        )
        ProcessingError.objects.bulk_create(r for r in rows if r.project_id in ids)
    for item in failed:
        logger.warning(
            "digest could not store an item: %s",
            item.error,
            extra={"project_id": item.project_id, "event_id": item.event_id},
        )
    result.errors += len(failed)


def write(
    prepared: Prepared, configs: dict[int, ProjectConfig], now: dt.datetime
) -> BatchResult:
    """Write a prepared batch in one transaction; return what it did."""
    result = BatchResult()
    partitions.ensure_partitions({e.received_at.date() for e in prepared.events})
    with transaction.atomic():
        _write_events(prepared.events, configs, now, result)
        _write_others(prepared, now, result)
        record_event_releases({(e.project_id, e.release) for e in prepared.events}, now)
        # What new issues get from the stored events: owners, similarity.
        issue_arrivals.process_new_issues(result.new_issue_ids, now)
    return result


@dataclass
class DecodedBatch:
    """Queue messages split into header and payload, with the configuration
    of every project they name: all the batch needs from the database
    before its pure part (``prepare``) can run, in any thread."""

    messages: Sequence[Message]
    items: list[tuple[str, dict[str, Any], bytes]]
    configs: dict[int, ProjectConfig]
    result: BatchResult


def decode_batch(messages: Sequence[Message]) -> DecodedBatch:
    """Decode queue messages and load their projects (one query).

    A message that is not ``header\n payload`` is logged and counted as an
    error: with no project to file a ProcessingError under, only a log can
    show what ingest wrote.
    """
    result = BatchResult(messages=len(messages))
    decoded = []
    for message in messages:
        try:
            header, payload = items.decode_item(message.body)
        except items.MalformedItem as exc:
            logger.error("dropping malformed queue message %s: %s", message.id, exc)
            result.errors += 1
            continue
        decoded.append((message.id, header, payload))
    configs = load_configs(header.get("project_id") for _, header, _ in decoded)
    attach_symbols(decoded, configs)
    return DecodedBatch(messages, decoded, configs, result)


def load_configs(project_ids: Iterable[Any]) -> dict[int, ProjectConfig]:
    """Return the digest configuration of the projects with these ids (one
    query; ids that are not ints or not projects are left out)."""
    ids = {pid for pid in project_ids if type(pid) is int}
    return {p.pk: project_config(p) for p in Project.objects.filter(pk__in=ids)}


def prepare_batch(batch: DecodedBatch) -> Prepared:
    """Run the pure part of digest for a decoded batch. Touches no database,
    so it may run in another thread while the previous batch is written."""
    started = time.perf_counter()
    prepared = prepare(batch.items, batch.configs)
    batch.result.prepare_seconds += time.perf_counter() - started
    return prepared


def write_batch(
    batch: DecodedBatch, prepared: Prepared, now: dt.datetime | None = None
) -> BatchResult:
    """Write a prepared batch and return what the whole batch did.

    When the batch cannot be written as one, each item is retried in its
    own transaction and the ones that still fail become ProcessingErrors.
    Raises only when not even that can be written (the database is down);
    the caller must then not acknowledge the messages.
    """
    with selfmonitor.handling(batch.configs):
        return _write_batch(batch, prepared, now)


def _write_batch(
    batch: DecodedBatch, prepared: Prepared, now: dt.datetime | None
) -> BatchResult:
    now = now or dt.datetime.now(dt.UTC)
    result, configs = batch.result, batch.configs
    started = time.perf_counter()
    try:
        result.add(write(prepared, configs, now))
        result.write_seconds += time.perf_counter() - started
        return result
    except Exception:  # isolate the item at fault, below
        logger.exception("batch of %d failed; retrying item by item", len(batch.items))
    for one in batch.items:
        single = prepare([one], configs)
        try:
            result.add(write(single, configs, now))
        except TRANSIENT_DATABASE_ERRORS:
            # A locked database, a lost connection, a deadlock or a
            # serialization failure says nothing about the item: raise, so
            # nothing is acknowledged and the batch comes back later.
            raise
        except Exception as exc:  # this item is the one at fault
            message_id, header, payload = one
            failed = Prepared()
            _fail(failed, message_id, header, payload, f"{type(exc).__name__}: {exc}")
            with transaction.atomic():
                _write_failures(failed.failed, result)
    result.write_seconds += time.perf_counter() - started
    return result


def digest_messages(
    messages: Sequence[Message], *, now: dt.datetime | None = None
) -> BatchResult:
    """Digest queue messages; return what was done (decode_batch, then
    prepare_batch, then write_batch, in this thread)."""
    batch = decode_batch(messages)
    return write_batch(batch, prepare_batch(batch), now)
