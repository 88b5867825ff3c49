"""User feedback sent by the real Python sentry-sdk reaches the project's
feedback page and Sentry's user-feedback API through ingest and digest."""

from __future__ import annotations

import pytest
import sentry_sdk
from django.utils import timezone
from sentry_sdk.envelope import Envelope, Item, PayloadRef

from fixtrail.events.models import Event, UserReport
from tests.api.conftest import ApiClient, issue_token
from tests.digest.queueing import digest_queued

pytestmark = pytest.mark.django_db(transaction=True)

FLUSH_TIMEOUT_SECONDS = 10.0
FEEDBACK_ID = "b" * 32


@pytest.fixture
def sdk(live_server, project_key):
    host = live_server.url.split("://", 1)[1]
    sentry_sdk.init(
        dsn=f"http://{project_key.public_key}@{host}/{project_key.project_id}",
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    yield sentry_sdk.get_client()
    sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_SECONDS)
    sentry_sdk.init()


def _send_feedback(client: sentry_sdk.Client, about: str) -> None:
    # The shape the JavaScript SDK's feedback widget sends.
    payload = {
        "event_id": FEEDBACK_ID,
        "timestamp": timezone.now().timestamp(),
        "platform": "javascript",
        "contexts": {
            "feedback": {
                "message": "The <b>Pay</b> button does nothing",
                "contact_email": "ann@example.org",
                "name": "Ann",
                "associated_event_id": about,
                "url": "https://shop.example.org/cart",
                "source": "widget",
            }
        },
    }
    envelope = Envelope(headers={"event_id": FEEDBACK_ID})
    envelope.add_item(Item(payload=PayloadRef(json=payload), type="feedback"))
    client.transport.capture_envelope(envelope)
    client.flush(timeout=FLUSH_TIMEOUT_SECONDS)


def test_it_lists_widget_feedback_with_its_issue(sdk, project, alice, client):
    event_id = sentry_sdk.capture_message("checkout failed", level="error")
    _send_feedback(sdk, event_id)

    result = digest_queued(timezone.now())

    assert result.reports == 1
    report = UserReport.objects.get()
    assert (report.event_id, report.name, report.email) == (
        event_id,
        "Ann",
        "ann@example.org",
    )
    issue = Event.objects.get(event_id=event_id).issue
    client.force_login(alice)
    page = client.get("/organizations/acme/projects/backend/feedback/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "The &lt;b&gt;Pay&lt;/b&gt; button does nothing" in html
    assert f'href="/issues/{issue.pk}/events/{event_id}/"' in html
    api = ApiClient(issue_token(alice))
    (row,) = api.get("/api/0/projects/acme/backend/user-feedback/").json()
    assert row["eventID"] == event_id
    assert row["comments"] == "The <b>Pay</b> button does nothing"
    assert row["issue"]["id"] == str(issue.pk)
