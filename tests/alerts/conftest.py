"""Real receivers for alert tests: an SMTP server (aiosmtpd); the HTTP
receiver that records what webhooks and apprise post is tests.conftest's."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from fixtrail.alerts.models import AlertCursor
from tests.servers import free_port

# The moment alert tests evaluate at: a minute after the events they queue
# (tests.digest.queueing.T0) were digested.
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=1)


class _Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port; Django's SMTP backend points at it.
    Yields the collector whose ``messages`` are the received e-mails."""
    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "fixtrail@example.org"
    yield collector
    controller.stop()


@pytest.fixture
def cursors(db):
    """Start the evaluator's cursors at the beginning, as the migration
    does on an empty database."""
    for name in ("activity", "tagvalue"):
        AlertCursor.objects.update_or_create(
            name=name, defaults={"position": 0, "settled": 0, "checkpoints": []}
        )
