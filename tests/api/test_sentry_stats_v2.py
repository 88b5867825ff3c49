"""``/api/0/organizations/{org}/stats_v2/``: what ingest accepted,
rate-limited and digest filtered, counted from real SDK envelopes sent
through the ingest endpoint."""

from __future__ import annotations

import datetime as dt

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from fixtrail.ingest.stats import flush_stats
from fixtrail.projects.models import Project
from tests.api.conftest import ApiClient, issue_token
from tests.digest.queueing import digest_queued

STATS = "/api/0/organizations/acme/stats_v2/"
# Ingest stamps its counts with the real hour it counted them in, so the
# tests ask for the four hours around the real clock and compare totals.
FORMAT = "%Y-%m-%dT%H:%M:%S"


class IngestTransport(Transport):
    """Send each envelope to Fixtrail's ingest endpoint in process, as the
    SDK's HTTP transport would; keep the status codes."""

    project: Project

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.statuses: list[int] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        key = self.project.keys.get()
        response = Client().post(
            f"/api/{self.project.pk}/envelope/",
            envelope.serialize(),
            content_type="application/x-sentry-envelope",
            HTTP_X_SENTRY_AUTH=(
                f"Sentry sentry_key={key.public_key}, sentry_version=7, "
                f"sentry_client=sentry.python/{sentry_sdk.VERSION}"
            ),
        )
        self.statuses.append(response.status_code)


def send_errors(project: Project, releases: list[str]) -> list[int]:
    """Capture one error per release with the real SDK; return the statuses."""
    IngestTransport.project = project
    client = sentry_sdk.Client(
        dsn=project.keys.get().dsn,
        transport=IngestTransport,
        default_integrations=False,
        send_client_reports=False,
    )
    for release in releases:
        client.options["release"] = release
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            try:
                raise ValueError(f"failed in {release}")
            except ValueError as error:
                sentry_sdk.capture_exception(error)
    statuses = client.transport.statuses
    client.close()
    return statuses


@pytest.fixture
def counted(project, settings):
    """Five errors: two refused by the rate limit, one filtered by digest
    (a -dev release), two stored."""
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    Project.objects.filter(pk=project.pk).update(filter_releases="*-dev\n")
    statuses = send_errors(project, ["1.0", "1.0-dev", "1.1", "1.2", "1.3"])
    assert statuses == [200, 200, 200, 429, 429]
    now = dt.datetime.now(dt.UTC)
    flush_stats(force=True, now=now.timestamp())
    digest_queued(now=now)
    return project


def around_now() -> dict[str, str]:
    """Return start and end of the four whole hours around now (naive UTC,
    as the Grafana data source writes them)."""
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = hour - dt.timedelta(hours=2)
    return {
        "start": start.strftime(FORMAT),
        "end": (start + dt.timedelta(hours=4)).strftime(FORMAT),
    }


def stats(api, **params) -> dict:
    response = api.get(STATS, {**around_now(), "field": "sum(quantity)", **params})
    assert response.status_code == 200, response.content
    return response.json()


def totals(body: dict) -> list[tuple[dict, dict]]:
    """Return each group's ``by`` and totals, checking the series add up."""
    for group in body["groups"]:
        for field, total in group["totals"].items():
            assert len(group["series"][field]) == len(body["intervals"])
            assert sum(group["series"][field]) == total
    return [(group["by"], group["totals"]) for group in body["groups"]]


def test_it_counts_outcomes_per_interval(alice_api, counted):
    window = around_now()
    body = stats(alice_api, groupBy="outcome", category="error", interval="1h")
    assert body["start"] == window["start"] + "Z"
    assert body["end"] == window["end"] + "Z"
    assert len(body["intervals"]) == 4
    assert body["intervals"][0] == window["start"] + "Z"
    assert totals(body) == [
        ({"outcome": "accepted"}, {"sum(quantity)": 3}),
        ({"outcome": "filtered"}, {"sum(quantity)": 1}),
        ({"outcome": "rate_limited"}, {"sum(quantity)": 2}),
    ]


def test_it_groups_by_reason_and_category(alice_api, counted):
    body = stats(
        alice_api,
        field=["sum(quantity)", "sum(times_seen)"],
        groupBy=["outcome", "reason", "category"],
        outcome=["filtered", "rate_limited"],
        interval="2h",
    )
    # Buckets are aligned to the interval since the epoch.
    assert all(int(stamp[11:13]) % 2 == 0 for stamp in body["intervals"])
    assert totals(body) == [
        (
            {"outcome": "filtered", "reason": "releases", "category": "error"},
            {"sum(quantity)": 1, "sum(times_seen)": 1},
        ),
        (
            {
                "outcome": "rate_limited",
                "reason": "instance_rate_limit",
                "category": "error",
            },
            {"sum(quantity)": 2, "sum(times_seen)": 2},
        ),
    ]


def test_it_answers_one_series_without_groups(alice_api, counted):
    body = stats(alice_api, outcome="accepted", project=str(counted.pk))
    assert totals(body) == [({}, {"sum(quantity)": 3})]


def test_it_answers_zeros_for_a_quiet_range(alice_api, counted):
    body = stats(alice_api, start="2026-03-01T10:00:00", end="2026-03-01T11:00:00")
    assert body["groups"] == [
        {"by": {}, "totals": {"sum(quantity)": 0}, "series": {"sum(quantity)": [0]}}
    ]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"field": ""}, 'At least one "field" is required: sum(quantity).'),
        (
            {"field": "count()"},
            'Invalid field "count()": use one of sum(quantity), sum(times_seen).',
        ),
        (
            {"groupBy": "release"},
            'Invalid groupBy "release": use one of category, outcome, reason, project.',
        ),
        (
            {"interval": "30m"},
            "The interval has to be a multiple of the minimum interval of one "
            "hour: counts are kept per hour.",
        ),
        (
            {"interval": "30s"},
            'Invalid interval "30s": use a number and one of the units m, h, d, w, '
            "like 1h.",
        ),
    ],
)
def test_it_refuses_what_it_cannot_answer_with_a_message(
    alice_api, org, params, detail
):
    response = alice_api.get(
        STATS, {**around_now(), "field": "sum(quantity)", **params}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_it_does_not_show_other_organizations_counts(charlie_api, counted):
    response = charlie_api.get(STATS, {**around_now(), "field": "sum(quantity)"})
    assert response.status_code == 404


def test_it_needs_the_org_read_scope(alice, counted):
    api = ApiClient(issue_token(alice, ["event:read"]))
    response = api.get(STATS, {**around_now(), "field": "sum(quantity)"})
    assert response.status_code == 403
    assert response.json()["detail"].endswith("the org:read scope.")
