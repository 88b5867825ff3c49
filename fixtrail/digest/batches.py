"""Digest a batch of queued items into the database in one transaction.

The pure work happens first, item by item and outside any transaction
(``digest.prepare``, with the project settings of ``digest.config``):
decode the queue message, parse and normalize the event, apply the
project's inbound filters, compute the grouping hash, compress. An item
that fails there becomes a ProcessingError and the batch goes on.

Then one transaction writes everything, with a fixed number of statements
per table whatever the batch size:

1. claim the events' (project, event_id) keys in EventKey; only the keys
   this batch inserted are new, so a redelivered event changes nothing
   (``digest.event_writes``);
2. lock the existing issues the batch touches (id order), create issues
   for unknown grouping hashes (short ids from Project.next_short_id, a
   FIRST_SEEN activity each) (``digest.issue_writes``);
3. decide regressions and ignore ends (fixtrail.issues.lifecycle);
4. insert the events (bulk), then add to the aggregates with
   ``INSERT ... ON CONFLICT`` upserts: hourly counts, tag values (release
   and environment included), affected users (``digest.counts``); update
   each issue once;
5. count filtered events, store attachments, user reports, feedback,
   processing errors and the stats ingest sent (``digest.event_writes``).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

from fixtrail.core import selfmonitor
from fixtrail.digest.config import ProjectConfig, project_config
from fixtrail.digest.event_writes import write_events, write_failures, write_others
from fixtrail.digest.prepare import BatchResult, Prepared, prepare, record_failure
from fixtrail.events import partitions
from fixtrail.ingest import items
from fixtrail.issues import arrivals as issue_arrivals
from fixtrail.projects.models import Project
from fixtrail.queue import Message
from fixtrail.releases.recording import record_event_releases
from fixtrail.symbols.lookup import attach_symbols

logger = logging.getLogger(__name__)

# Errors of the database, not of the item being written: a locked SQLite
# file, a lost connection, a deadlock or serialization failure. Django wraps
# the driver's as its own, and so does the raw cursor of the bulk writes
# (fixtrail.core.upserts): the driver is never imported here, and a worker
# on SQLite never loads psycopg (about 5 MB).
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


def write(
    prepared: Prepared, configs: dict[int, ProjectConfig], now: dt.datetime
) -> BatchResult:
    """Write a prepared batch in one transaction; return what it did."""
    result = BatchResult()
    partitions.ensure_partitions({e.received_at.date() for e in prepared.events})
    with transaction.atomic():
        write_events(prepared.events, configs, now, result)
        write_others(prepared, now, result)
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
            record_failure(
                failed, message_id, header, payload, f"{type(exc).__name__}: {exc}"
            )
            with transaction.atomic():
                write_failures(failed.failed, result)
    result.write_seconds += time.perf_counter() - started
    return result


def digest_messages(
    messages: Sequence[Message], *, now: dt.datetime | None = None
) -> BatchResult:
    """Digest queue messages; return what was done (decode_batch, then
    prepare_batch, then write_batch, in this thread)."""
    batch = decode_batch(messages)
    return write_batch(batch, prepare_batch(batch), now)
