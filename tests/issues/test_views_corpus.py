"""Every event of the shared SDK corpus, once digested, has an issue page,
an event page and a raw download that render."""

from __future__ import annotations

import json

from fixtrail.events.models import Event
from tests.issues.test_views_support import (
    send_events,
)


def test_it_renders_every_corpus_event(alice_client, project, corpus_dir):
    payloads, names = [], []
    for path in sorted(corpus_dir.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(data, dict):
            data.pop("event_id", None)
            payloads.append(data)
            names.append(path.name)
    ids = send_events(project, payloads)
    stored = {
        event.event_id: event
        for event in Event.objects.filter(project=project, event_id__in=ids)
    }
    # Digest may refuse a few broken samples; the rest must all be stored.
    assert len(stored) >= len(ids) - 10
    failures = []
    for name, event_id in zip(names, ids, strict=True):
        event = stored.get(event_id)
        if event is None:
            continue
        for url in (
            f"/issues/{event.issue_id}/",
            f"/issues/{event.issue_id}/events/{event_id}/",
            f"/issues/{event.issue_id}/events/{event_id}/json/",
        ):
            status = alice_client.get(url).status_code
            if status != 200:
                failures.append((name, url, status))
    assert failures == []
    response = alice_client.get(
        "/organizations/acme/projects/backend/?query=&period=30d"
    )
    assert response.status_code == 200
