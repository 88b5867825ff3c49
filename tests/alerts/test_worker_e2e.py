"""The whole path with real processes: the Python sentry-sdk sends an error
to a granian server, ``fixtrail worker`` digests it, its job thread
evaluates the rules and posts the signed webhook to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time

import pytest
import sentry_sdk

from tests.conftest import REPO_ROOT
from tests.servers import (
    free_port,
    own_sqlite_servers,
    server_env,
    start_granian,
    stop,
    wait_until_serving,
)

# The worker evaluates rules every FIXTRAIL_ALERTS_EVALUATE_SECONDS (1 s
# here); digest, evaluation and the job take a few seconds more under load.
DELIVERY_TIMEOUT_SECONDS = 60
FLUSH_TIMEOUT_SECONDS = 10.0


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fixtrail.cli", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="uses process groups")
@own_sqlite_servers
def test_it_delivers_a_webhook_for_an_sdk_error_through_the_worker(tmp_path, receiver):
    port = free_port()
    env = server_env(tmp_path, f"http://127.0.0.1:{port}")
    env["FIXTRAIL_ALERTS_EVALUATE_SECONDS"] = "1"
    _cli(env, "manage", "migrate", "--verbosity", "0")
    boot = json.loads(
        _cli(
            env,
            "bootstrap",
            "--org",
            "acme",
            "--project",
            "backend",
            "--email",
            "ops@example.com",
            "--password",
            "a long password for tests",
        )
    )
    added = json.loads(
        _cli(
            env,
            "alert",
            "add",
            "--project",
            "acme/backend",
            "--when",
            "new",
            "--to",
            f"webhook:{receiver.url}/hook",
        )
    )
    web = start_granian(port, env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "fixtrail.cli", "worker"],
        env=env,
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(port, web, None)
        sentry_sdk.init(
            dsn=boot["dsn"],
            default_integrations=False,
            auto_enabling_integrations=False,
            release="shop@3.0.0",
        )
        try:
            {}["missing"]
        except KeyError:
            sentry_sdk.capture_exception()
        sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_SECONDS)
        sentry_sdk.init()
        deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
        while not receiver.requests and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker died"
            time.sleep(0.2)
    finally:
        stop(worker)
        stop(web)
    (request,) = receiver.requests
    expected = hmac.new(
        added["secret"].encode(), request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Fixtrail-Signature"] == f"sha256={expected}"
    body = request.json()
    assert body["trigger"] == "new"
    assert body["title"] == "KeyError: 'missing'"
    assert body["first_release"] == "shop@3.0.0"
    assert body["url"].startswith(f"http://127.0.0.1:{port}/issues/")
