from __future__ import annotations

import pytest


def test_it_answers_health(client):
    response = client.get("/_health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_is_ready_with_database_and_queue(client, any_store):
    response = client.get("/_ready")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["queue"] == "ok"
    assert body["storage"] == "ok"
    assert body["status"] == "ok"
    assert body["missing"] == []
    assert body["backlog"]["size"] == 0
    assert body["backlog"]["max_size"] == 100_000


@pytest.mark.django_db
def test_it_is_not_ready_when_the_queue_is_unreachable(client, settings):
    settings.QUEUE_URL = "redis://127.0.0.1:1/0"
    response = client.get("/_ready")
    assert response.status_code == 503
    assert response.json()["queue"].startswith("error: ")
    assert response.json()["missing"] == ["queue"]


@pytest.mark.django_db
def test_it_stays_ready_but_degraded_when_the_object_store_is_unreachable(
    client, settings, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    settings.STORAGE_URL = (
        "s3://blobs/p?endpoint_url=http://127.0.0.1:9&region=us-east-1"
    )
    response = client.get("/_ready")
    assert response.status_code == 200
    body = response.json()
    assert body["storage"].startswith("error: object store unreachable")
    assert body["missing"] == ["storage"]
    assert body["status"] == "degraded"


def test_it_sets_a_strict_content_security_policy(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
