"""Fixtrail watches itself: its own errors go to a project through the
Sentry Python SDK when ``FIXTRAIL_SELF_DSN`` is set.

Each process calls :func:`start` once with its name (``web``, ``worker``,
``check``); events carry that name and Fixtrail's version as tags. The
project may live on this very Fixtrail, so an error raised while ingest or
digest handles that project's own items is dropped (:func:`handling`):
otherwise a failure to store an event would send another event that fails
the same way, for ever.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings

from fixtrail.lib.dsn import DSNError, parse_dsn

logger = logging.getLogger(__name__)

# True while this thread handles items of the self-monitoring project.
_in_own_project: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fixtrail_self_project", default=False
)


def fixtrail_version() -> str:
    """Return the installed Fixtrail's version, "unknown" from a bare tree."""
    try:
        return version("fixtrail")
    except PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=8)
def project_id_of(dsn: str) -> int | None:
    """Return the project id a DSN names, or None when it is no DSN."""
    try:
        return parse_dsn(dsn).project_id
    except DSNError:
        return None


def own_project_id() -> int | None:
    """Return the id of the project Fixtrail reports to, or None when off."""
    return project_id_of(settings.SELF_DSN) if settings.SELF_DSN else None


@contextlib.contextmanager
def handling(project_ids: Iterable[Any]) -> Iterator[None]:
    """Within the block, drop self-monitoring events when ``project_ids``
    include the self-monitoring project (see the module docstring)."""
    own = own_project_id()
    if own is None or own not in set(project_ids):
        yield
        return
    token = _in_own_project.set(True)
    try:
        yield
    finally:
        _in_own_project.reset(token)


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    if _in_own_project.get():
        return None
    return event


def start(process: str) -> bool:
    """Send this process's errors to ``FIXTRAIL_SELF_DSN``; return whether
    self-monitoring is on. Safe to call when it is off (it does nothing)."""
    if not settings.SELF_DSN:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.SELF_DSN,
        release=f"fixtrail@{fixtrail_version()}",
        environment=settings.SELF_ENVIRONMENT,
        before_send=_before_send,
        # Only what is named here: no automatic integrations for the
        # libraries Fixtrail happens to import (httpx, redis, ...), whose
        # breadcrumbs could carry tokens of outbound calls.
        auto_enabling_integrations=False,
        integrations=[
            DjangoIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        send_default_pii=False,
        traces_sample_rate=0,
    )
    sentry_sdk.set_tag("process", process)
    sentry_sdk.set_tag("fixtrail.version", fixtrail_version())
    logger.info("self-monitoring on: errors go to project %s", own_project_id())
    return True


def send_test_error() -> str | None:
    """Raise an error, report it through the self-monitoring wiring and
    return its event id (None when the SDK dropped it or monitoring is off)."""
    import sentry_sdk

    try:
        raise RuntimeError("Fixtrail self-monitoring test error (fixtrail check)")
    except RuntimeError:
        event_id = sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=10)
    return event_id
