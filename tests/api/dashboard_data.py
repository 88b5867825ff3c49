"""Events made by the real Python SDK (sentry-sdk, in process) and put
through the real queue and digest, for the dashboard endpoint tests.

The SDK captures each error from code compiled under a made-up file name;
each event's time is then set to a fixed moment, as a replayed SDK payload
would carry it, so stats buckets are known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sentry_sdk

from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project
from tests.digest.queueing import digest_payloads
from tests.digest.test_grouping_sdk import capture, load_module, make_client

# The test range: two hours of a day, events inside it.
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)

SHOP = """
def checkout(order_id):
    raise ValueError("order not found")


def lookup(sku):
    raise KeyError(sku)
"""


def sdk_error(
    action_name: str,
    argument: object,
    *,
    at: dt.datetime,
    user: dict | None,
    release: str,
    environment: str,
) -> dict:
    """Return the event the SDK makes of ``SHOP[action_name](argument)``."""
    shop = load_module(SHOP, name="shop.orders")

    def action() -> None:
        if user is not None:
            sentry_sdk.set_user(user)
        shop[action_name](argument)

    event = capture(action, release=release, environment=environment)
    event["timestamp"] = at.timestamp()
    return event


def sdk_message(text: str, *, at: dt.datetime, release: str) -> dict:
    """Return the event the SDK makes of ``capture_message(text)``."""
    client, transport = make_client(release=release, environment="production")
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        sentry_sdk.capture_message(text, level="warning")
    client.close()
    (event,) = transport.events
    event["timestamp"] = at.timestamp()
    return event


@dataclass
class Dashboard:
    """What the SDK sent, by issue."""

    backend: Project
    frontend: Project
    value_error: Issue
    key_error: Issue
    message: Issue


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def make_dashboard(backend: Project, frontend: Project) -> Dashboard:
    """Digest seven SDK events into two projects.

    backend: ValueError x4 (10:05 user 1, 10:40 user 2, 11:10 user 1,
    11:20 no user; release 1.0, production), KeyError x2 (10:50 and
    11:50, user dana@example.org, release 1.1, staging).
    frontend: one warning message at 11:30 (release 2.0, production).
    """
    values = [
        (10 * 60 + 5, {"id": "1"}),
        (10 * 60 + 40, {"id": "2"}),
        (11 * 60 + 10, {"id": "1"}),
        (11 * 60 + 20, None),
    ]
    day = START.replace(hour=0)
    for at, user in values:
        moment = day + minutes(at)
        digest_payloads(
            backend,
            [
                sdk_error(
                    "checkout",
                    at,
                    at=moment,
                    user=user,
                    release="1.0",
                    environment="production",
                )
            ],
            received_at=moment,
        )
    for at in (10 * 60 + 50, 11 * 60 + 50):
        moment = day + minutes(at)
        digest_payloads(
            backend,
            [
                sdk_error(
                    "lookup",
                    "sku-9",
                    at=moment,
                    user={"email": "dana@example.org"},
                    release="1.1",
                    environment="staging",
                )
            ],
            received_at=moment,
        )
    moment = day + minutes(11 * 60 + 30)
    digest_payloads(
        frontend,
        [sdk_message("Checkout took too long", at=moment, release="2.0")],
        received_at=moment,
    )
    return Dashboard(
        backend=backend,
        frontend=frontend,
        value_error=Issue.objects.get(project=backend, type="ValueError"),
        key_error=Issue.objects.get(project=backend, type="KeyError"),
        message=Issue.objects.get(project=frontend),
    )
