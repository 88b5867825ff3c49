from __future__ import annotations

import re

import pytest
from django.utils import timezone

from fixtrail.ingest.stats import flush_stats
from tests.digest.queueing import digest_queued, queue_payloads

STATS = "/organizations/acme/projects/backend/stats/"


def _store(client, project, key, message: str) -> None:
    response = client.post(
        f"/api/{project.pk}/store/?sentry_key={key.public_key}",
        data=f'{{"message": "{message}", "platform": "python"}}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def _cells(body: str, table_id: str, first_cell: str) -> list[str]:
    table = body.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells and cells[0] == first_cell:
            return cells[1:]
    raise AssertionError(f"no row {first_cell!r} in {table_id}")


@pytest.fixture
def arrived(client, project, project_key):
    """Three events through ingest (one dropped by an inbound filter), one
    payload digest cannot read, all digested now."""
    project.filter_error_messages = "*health check*"
    project.save(update_fields=["filter_error_messages"])
    for message in ("Order 1 failed", "Order 2 failed", "health check failed"):
        _store(client, project, project_key, message)
    queue_payloads(project, [b"[1, 2, 3]"], received_at=timezone.now())
    assert flush_stats(force=True) is True
    digest_queued(now=timezone.now())


def test_it_shows_items_by_type_and_outcome(alice_client, arrived):
    body = alice_client.get(STATS).content.decode()
    # accepted, filtered, rate_limited, client_discard, invalid, too_large
    assert _cells(body, "outcomes", "Error") == ["3", "1", "0", "0", "0", "0"]
    assert _cells(body, "reasons", "Filtered") == ["error messages", "1"]
    # Words, not identifiers, in the headings too.
    assert '<th scope="col">Rate limited</th>' in body
    assert "rate_limited" not in body


def test_it_lists_processing_errors(alice_client, arrived):
    body = alice_client.get(STATS).content.decode()
    errors = body.split('id="processing-errors"', 1)[1]
    assert "[1, 2, 3]" in errors
    assert "None: every event" not in errors


def test_it_shows_the_queue_backlog(alice_client, project):
    queue_payloads(project, [{"message": "waiting"}], received_at=timezone.now())
    body = alice_client.get(STATS).content.decode()
    assert "1 item waiting for digest, the oldest for" in body
    assert "Past 100000 waiting, ingest refuses new events (429)" in body


def test_it_says_when_the_queue_is_unreachable(alice_client, project, settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    response = alice_client.get(STATS)
    assert response.status_code == 200
    assert "The queue is unreachable" in response.content.decode()


def test_it_is_empty_for_a_quiet_period(alice_client, project):
    body = alice_client.get(STATS + "?period=30d").content.decode()
    assert "Nothing arrived in this period." in body
    assert "No sessions in this period." in body


def test_viewers_see_the_stats(client, vera, project):
    client.force_login(vera)
    assert client.get(STATS).status_code == 200


def test_outsiders_get_404(client, charlie, project):
    client.force_login(charlie)
    assert client.get(STATS).status_code == 404
