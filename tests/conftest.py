"""Shared fixtures: the cast (alice owns the org, bob is a member, vera a
viewer, charlie an outsider with his own org) and plain builder functions."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fixtrail.ingest.keys import forget_keys
from fixtrail.ingest.outbox import forget_backlog
from fixtrail.ingest.stats import STATS
from tests.builders import make_org, make_project, make_user

REPO_ROOT = Path(__file__).resolve().parents[1]
# The S3 stand-in's fixtures (s3_endpoint, s3_storage).
pytest_plugins = ["tests.object_store"]

CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "sdk-events"
# For parametrized tests; empty (so they skip) where the corpus is absent.
CORPUS_FILES = sorted(CORPUS_DIR.rglob("*.json")) if CORPUS_DIR.is_dir() else []
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_data(settings, tmp_path):
    """Give each test its own data directory and an empty queue.

    With a SQLite queue the queue file moves into the test's directory; with
    Redis (CI's second run) the test database's Fixtrail keys are deleted.
    """
    settings.DATA_DIR = settings.FIXTRAIL_DATA_DIR = tmp_path
    # Argon2 is deliberately slow (~0.5 s a hash here); tests that create
    # users do not test hashing, except the ones that override this back.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if settings.QUEUE_URL.startswith("sqlite:"):
        settings.QUEUE_URL = f"sqlite://{tmp_path / 'queue.sqlite3'}"
    else:
        import redis

        conn = redis.Redis.from_url(settings.QUEUE_URL)
        keys = list(conn.scan_iter("fixtrail:*"))
        if keys:
            conn.delete(*keys)
        conn.close()
    # Ingest keeps a DSN key cache and stats counts per process; a test
    # must see neither from an earlier one (ids repeat after rollbacks).
    forget_keys()
    forget_backlog()
    STATS.clear()
    yield tmp_path
    forget_keys()
    forget_backlog()
    STATS.clear()


@pytest.fixture
def corpus_dir() -> Path:
    """The shared SDK event corpus; skips the test where it is absent."""
    if not CORPUS_DIR.is_dir():
        pytest.skip("../shared/corpus/sdk-events is not present")
    return CORPUS_DIR


@pytest.fixture
def alice(db):
    return make_user("alice@example.org")


@pytest.fixture
def bob(db):
    return make_user("bob@example.org")


@pytest.fixture
def vera(db):
    return make_user("vera@example.org")


@pytest.fixture
def charlie(db):
    return make_user("charlie@example.org")


@pytest.fixture
def org(alice, bob, vera):
    return make_org("acme", owner=alice, members={bob: "member", vera: "viewer"})


@pytest.fixture
def charlies_org(charlie):
    return make_org("umbrella", owner=charlie)


@pytest.fixture
def project(org):
    return make_project(org, "backend")


@pytest.fixture
def charlies_project(charlies_org):
    return make_project(charlies_org, "secret")


@pytest.fixture
def project_key(project):
    return project.keys.get()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # The status answered to each request, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver():
    """A local HTTP server that records every POST and answers the queued
    statuses (200 by default)."""
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status < 400 else b"receiver is down")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
