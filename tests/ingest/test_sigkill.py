"""Killing the server with SIGKILL right after it answered leaves every
answered event in the queue."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import orjson
import pytest

from fixtrail.ingest.items import decode_item
from fixtrail.queue import open_queue
from tests.conftest import REPO_ROOT
from tests.servers import (
    free_port,
    own_sqlite_servers,
    server_env,
    start_granian,
    wait_until_serving,
)

# Requests sent before the kill; a few hundred keep the test short while
# leaving many requests in flight when the signal lands.
EVENTS = 400
KILL_AFTER_ANSWERS = 150
SENDER_THREADS = 8


_SETUP_PROJECT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project, ProjectKey
org = Organization.objects.create(slug="acme", name="Acme")
project = Project.objects.create(organization=org, slug="backend", name="Backend")
key = ProjectKey.objects.create(project=project)
print(project.id, key.public_key)
"""


def _sender(port, project_id, public_key, ids, answered, lock, stop):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7",
        "Content-Type": "application/x-sentry-envelope",
    }
    for event_id in ids:
        if stop.is_set():
            return
        payload = orjson.dumps({"event_id": event_id, "message": "before the kill"})
        body = (
            orjson.dumps({"event_id": event_id})
            + b"\n"
            + orjson.dumps({"type": "event", "length": len(payload)})
            + b"\n"
            + payload
        )
        try:
            connection.request("POST", f"/api/{project_id}/envelope/", body, headers)
            response = connection.getresponse()
            response.read()
        except OSError:
            # The server is gone: whatever was not answered is not owed.
            return
        if response.status == 200:
            with lock:
                answered.append(event_id)


@pytest.mark.skipif(sys.platform != "linux", reason="uses process groups and SIGKILL")
@own_sqlite_servers
def test_it_keeps_every_answered_event_after_sigkill(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    env = server_env(data_dir, f"http://127.0.0.1:{port}")
    setup = subprocess.run(
        [sys.executable, "-c", _SETUP_PROJECT],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    project_id, public_key = setup.stdout.split()
    server = start_granian(port, env, workers=2)
    try:
        wait_until_serving(port, server, None)
        ids = [uuid.uuid4().hex for _ in range(EVENTS)]
        answered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_sender,
                args=(
                    port,
                    project_id,
                    public_key,
                    ids[n::SENDER_THREADS],
                    answered,
                    lock,
                    stop,
                ),
            )
            for n in range(SENDER_THREADS)
        ]
        for thread in threads:
            thread.start()
        while len(answered) < KILL_AFTER_ANSWERS and any(t.is_alive() for t in threads):
            time.sleep(0.001)
        # The whole group: granian's main process and its workers.
        os.killpg(server.pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)

    with lock:
        answered_now = list(answered)
    assert len(answered_now) >= KILL_AFTER_ANSWERS
    queue = open_queue(f"sqlite://{data_dir / 'queue.sqlite3'}")
    try:
        stored = set()
        while messages := queue.read("check", count=1000):
            for message in messages:
                header, _ = decode_item(message.body)
                if header["type"] == "event":
                    stored.add(header["event_id"])
            queue.ack([message.id for message in messages])
    finally:
        queue.close()
    missing = set(answered_now) - stored
    assert missing == set()
