"""Fixtures for the real-SDK tests: the pinned npm packages, a Fixtrail
server running as in production, and read-back of what reached it.

The server is granian serving fixtrail.wsgi in a subprocess (the Node SDK
always sends chunked bodies, which only the lean WSGI path reads, not
Django's live_server). It gets its own data directory, SQLite database and
SQLite queue through explicit FIXTRAIL_* variables: whatever the test
process itself runs on (PostgreSQL and Redis in CI) is not inherited.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from fixtrail.ingest.items import decode_item, item_payload
from fixtrail.queue import MAX_READ_BATCH, open_queue
from tests.conftest import PASSWORD, REPO_ROOT
from tests.servers import (
    free_port,
    server_env,
    start_granian,
    stop,
    wait_until_serving,
)

JS_DIR = Path(__file__).resolve().parent / "js"
# npm writes this at the end of every install; older than package-lock.json
# means node_modules predates the last change of the pins.
INSTALLED_STAMP = JS_DIR / "node_modules" / ".package-lock.json"

# A cold `npm ci` takes about 10 s here; the margin covers a slow mirror.
NPM_TIMEOUT_SECONDS = 300
# The "engines" range of @sentry/node and @sentry/browser 11.
MIN_NODE_VERSION = (20, 19)
# Longest any helper process may take (bootstrap, node, digest); each takes
# a few seconds at most.
SUBPROCESS_TIMEOUT_SECONDS = 120
# Reading the queue "claims" messages for this long. Kept tiny so the digest
# run afterwards gets the same messages again at once: the tests look at
# what arrived without taking it away from digest.
PEEK_VISIBILITY_SECONDS = 0.001

# Run in the server's environment: digest everything queued (the same
# command an operator runs), then describe the issue of each event id given
# on the command line, and any event digest could not store.
_DIGEST_AND_DESCRIBE = """
import io
import json
import sys

import django

django.setup()
from django.core.management import call_command

from fixtrail.events.models import Event, ProcessingError

call_command("digest", stdout=io.StringIO())
issues = {}
for event in Event.objects.filter(event_id__in=sys.argv[1:]).select_related("issue"):
    issue = event.issue
    issues[event.event_id] = {
        "issue_id": issue.pk,
        "title": issue.title,
        "type": issue.type,
        "culprit": issue.culprit,
        "level": issue.level,
        "platform": issue.platform,
        "times_seen": issue.times_seen,
    }
errors = list(ProcessingError.objects.values_list("error", flat=True))
print(json.dumps({"issues": issues, "processing_errors": errors}))
"""


def _node_version(node: str) -> tuple[str, tuple[int, ...]]:
    """Return ``node --version`` as printed ("v20.20.2") and as (major, minor)."""
    output = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return output, tuple(int(part) for part in re.findall(r"\d+", output)[:2])


@pytest.fixture(scope="session")
def js_packages() -> Path:
    """Install the pinned SDKs into tests/sdk/js/node_modules when missing or
    older than package-lock.json, and return that folder.

    Fails (never skips) without Node.js or npm: these tests are the proof
    that the JavaScript SDKs work, and CI has both.
    """
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "Node.js and npm are required for the JavaScript SDK tests "
            "(Debian: apt-get install nodejs npm); deselect them with "
            "-m 'not live' where they cannot run"
        )
    printed, version = _node_version(node)
    if version < MIN_NODE_VERSION:
        wanted = ".".join(map(str, MIN_NODE_VERSION))
        pytest.fail(f"Node.js {wanted} or later is required; {node} is {printed}")
    lockfile = JS_DIR / "package-lock.json"
    if (
        not INSTALLED_STAMP.exists()
        or INSTALLED_STAMP.stat().st_mtime < lockfile.stat().st_mtime
    ):
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"`npm ci` in {JS_DIR} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
    return JS_DIR / "node_modules"


@dataclass
class FixtrailServer:
    """A running Fixtrail (granian + fixtrail.wsgi) with its own data."""

    url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    # What `fixtrail bootstrap` printed: project_id, dsn, token...
    project: dict[str, Any] = field(default_factory=dict)

    def queued(self) -> list[tuple[dict[str, Any], bytes]]:
        """Return every queued item as (header, payload), oldest first.

        The items stay in the queue for digest (see PEEK_VISIBILITY_SECONDS);
        each call counts as one delivery of each item.
        """
        queue = open_queue(
            f"sqlite://{self.data_dir / 'queue.sqlite3'}",
            visibility_timeout=PEEK_VISIBILITY_SECONDS,
        )
        try:
            messages = queue.read("sdk-tests", count=MAX_READ_BATCH)
        finally:
            queue.close()
        items = [decode_item(message.body) for message in messages]
        return [(header, item_payload(header, payload)) for header, payload in items]

    def queued_events(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """Return the queued events as {event_id: (header, parsed payload)}."""
        return {
            header["event_id"]: (header, orjson.loads(payload))
            for header, payload in self.queued()
            if header["type"] == "event"
        }

    def digest(self, event_ids: list[str]) -> dict[str, Any]:
        """Digest the queue and return ``{"issues": {event_id: {...}},
        "processing_errors": [...]}`` for these events."""
        return json.loads(self.run_python("-c", _DIGEST_AND_DESCRIBE, *event_ids))

    def log(self) -> str:
        """Return what the server printed so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def run_python(self, *args: str) -> str:
        """Run the venv's Python with ``args`` in the server's environment
        and return its standard output; fail on a non-zero exit."""
        result = subprocess.run(
            [sys.executable, *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, (
            f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout


@pytest.fixture(scope="module")
def fixtrail_server(tmp_path_factory) -> Iterator[FixtrailServer]:
    """Start a Fixtrail server for this test module, with one project
    ("shop", bootstrapped as a container would) and nothing else."""
    data_dir = tmp_path_factory.mktemp("fixtrail-data")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(data_dir, url)
    log_path = data_dir / "granian.log"
    server = FixtrailServer(url=url, data_dir=data_dir, env=env, log_path=log_path)
    # Migrates the empty database before granian's workers open it.
    output = server.run_python(
        "-m",
        "fixtrail.cli",
        "bootstrap",
        "--org",
        "acme",
        "--project",
        "shop",
        "--email",
        "alice@example.org",
        "--password",
        PASSWORD,
    )
    server.project = json.loads(output.splitlines()[-1])
    with log_path.open("wb") as log:
        process = start_granian(port, env, log=log)
    try:
        wait_until_serving(port, process, log_path)
        yield server
    finally:
        stop(process)
