from __future__ import annotations

import pytest


def test_it_answers_health(client):
    response = client.get("/_health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_is_ready_with_database_and_queue(client):
    response = client.get("/_ready")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["queue"] == "ok"
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


def test_it_sets_a_strict_content_security_policy(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
