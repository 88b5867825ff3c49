"""``/metrics``: who may scrape it, and what it reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import sentry_sdk

from tests.servers import free_port


def test_it_hides_metrics_from_a_public_address(client, db):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 404


def test_it_serves_metrics_to_loopback(client, db):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    assert "fixtrail_database_up 1.0" in body
    assert "fixtrail_queue_up 1.0" in body
    assert "fixtrail_queue_backlog 0.0" in body


def test_it_hides_metrics_behind_a_proxy_without_a_token(client, db, settings):
    settings.BEHIND_PROXY = True
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 404), ("Bearer wrong", 404), ("Bearer s3cret-scrape", 200)],
)
def test_it_requires_the_token_when_one_is_set(client, db, settings, header, status):
    settings.METRICS_TOKEN = "s3cret-scrape"
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", **extra)
    assert response.status_code == status


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def _value(body: str, prefix: str) -> float:
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_it_adds_up_every_process_of_fixtrail_run(tmp_path):
    """Events sent with the real SDK show in the ingest counter (written by
    granian's workers) and the digest counter (written by the worker)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "FIXTRAIL_DATA_DIR": str(tmp_path),
        "FIXTRAIL_BASE_URL": f"http://127.0.0.1:{port}",
    }
    fixtrail = [sys.executable, "-m", "fixtrail.cli"]
    done = subprocess.run(
        [*fixtrail, "bootstrap", "--org", "acme", "--project", "backend"]
        + ["--email", "ops@example.com", "--password", "a long password 1"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    dsn = json.loads(done.stdout)["dsn"]
    server = subprocess.Popen(
        [*fixtrail, "run", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _scrape(port)
                break
            except OSError:
                time.sleep(0.3)
        sentry_sdk.init(dsn=dsn)
        for n in range(3):
            sentry_sdk.capture_message(f"metrics check {n}")
        sentry_sdk.get_client().close(timeout=10)
        sentry_sdk.init()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = _scrape(port)
            if _value(body, "fixtrail_digest_events_stored_total") >= 3:
                break
            time.sleep(0.5)
        accepted = 'fixtrail_ingest_requests_total{endpoint="envelope",status="200"}'
        assert _value(body, accepted) == 3
        assert _value(body, "fixtrail_digest_events_stored_total") == 3
        assert _value(body, "fixtrail_digest_batch_items_count") >= 1
        assert (tmp_path / "metrics").is_dir()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
