"""Prometheus metrics for ``/metrics``.

Two kinds:

- counters and histograms that processes update as they work (ingest
  requests by status, digest batches), kept in prometheus_client's
  multi-process files under PROMETHEUS_MULTIPROC_DIR so that every granian
  worker and every digest worker on the host add up (``fixtrail run`` and
  ``fixtrail web``/``worker`` set it to ``<data dir>/metrics``);
- gauges read from shared state at scrape time (queue backlog, items by
  outcome from the stats table, outbound jobs by state, database and queue
  health), so any web process answers for the whole installation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

INGEST_REQUESTS = Counter(
    "fixtrail_ingest_requests",
    "SDK requests answered by ingest, by HTTP status and endpoint.",
    ["status", "endpoint"],
)
DIGEST_BATCH_SECONDS = Histogram(
    "fixtrail_digest_batch_seconds",
    "Seconds a digest batch spent in its write transaction.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DIGEST_BATCH_ITEMS = Histogram(
    "fixtrail_digest_batch_items",
    "Queued items per digest batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000),
)
DIGEST_EVENTS = Counter(
    "fixtrail_digest_events_stored",
    "Events digest stored (rate() of it is events digested per second).",
)
DIGEST_ISSUES = Counter(
    "fixtrail_digest_issues",
    "Issues digest created, regressed or escalated.",
    ["change"],
)


def record_batch(items: int, events: int, seconds: float, changes: dict) -> None:
    """Count one digested batch (called by the digest worker)."""
    DIGEST_BATCH_ITEMS.observe(items)
    DIGEST_BATCH_SECONDS.observe(seconds)
    DIGEST_EVENTS.inc(events)
    for change, count in changes.items():
        if count:
            DIGEST_ISSUES.labels(change).inc(count)


class StateCollector(Collector):
    """Gauges and totals read from the database and the queue per scrape."""

    def collect(self) -> Iterator:
        yield from _queue_metrics()
        database_up = GaugeMetricFamily(
            "fixtrail_database_up", "1 when the database answered this scrape."
        )
        try:
            metrics = list(_database_metrics())
        except Exception:  # any driver error means "down"
            database_up.add_metric([], 0)
            yield database_up
            return
        database_up.add_metric([], 1)
        yield database_up
        yield from metrics


def _queue_metrics() -> Iterator:
    from django.conf import settings

    from fixtrail.queue import QueueUnavailable, read_backlog

    up = GaugeMetricFamily("fixtrail_queue_up", "1 when the queue answered.")
    size = GaugeMetricFamily("fixtrail_queue_backlog", "Queued items not yet digested.")
    age = GaugeMetricFamily(
        "fixtrail_queue_oldest_age_seconds",
        "Age of the oldest undigested item (0 when the queue is empty).",
    )
    try:
        backlog = read_backlog(settings.QUEUE_URL)
    except QueueUnavailable:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    size.add_metric([], backlog.size)
    age.add_metric([], backlog.oldest_age_seconds or 0)
    yield from (up, size, age)


def _database_metrics() -> Iterator:
    from django.db.models import Count, Sum

    from fixtrail.events.models import ItemCount
    from fixtrail.jobs.models import Job

    items = CounterMetricFamily(
        "fixtrail_items",
        "Items (events, transactions, attachments, ...) by outcome: accepted, "
        "filtered, rate_limited, invalid, ... (from the stats table; "
        "retention of old hours lowers it, which Prometheus reads as a reset).",
        labels=["item_type", "outcome", "reason"],
    )
    rows = ItemCount.objects.values("item_type", "outcome", "reason").annotate(
        total=Sum("count")
    )
    for row in rows:
        items.add_metric(
            [row["item_type"], row["outcome"], row["reason"]], row["total"]
        )
    jobs = GaugeMetricFamily(
        "fixtrail_jobs",
        "Outbound jobs (alerts, tickets, merge-request notes) by kind and state.",
        labels=["kind", "state"],
    )
    for row in Job.objects.values("kind", "state").annotate(n=Count("id")):
        jobs.add_metric([row["kind"], row["state"]], row["n"])
    yield items
    yield jobs


# What this process counts itself; summed across processes through the
# multi-process files when PROMETHEUS_MULTIPROC_DIR is set.
PROCESS_METRICS = (
    INGEST_REQUESTS,
    DIGEST_BATCH_SECONDS,
    DIGEST_BATCH_ITEMS,
    DIGEST_EVENTS,
    DIGEST_ISSUES,
)


def render() -> bytes:
    """Return the metrics in Prometheus' text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    registry.register(StateCollector())
    return generate_latest(registry)
