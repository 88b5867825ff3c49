"""Fixtrail watches itself: FIXTRAIL_SELF_DSN sends its own errors, through
the real Sentry SDK, to a project of the same Fixtrail, and never errors
raised while it handles that project's own items."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from fixtrail.core import selfmonitor
from fixtrail.queue import open_queue
from tests.conftest import REPO_ROOT
from tests.servers import (
    FIXTRAIL,
    free_port,
    own_sqlite_servers,
    query_server,
    run_fixtrail,
    server_env,
    start_granian,
    stop,
    wait_until_serving,
)

ARRIVAL_TIMEOUT_SECONDS = 60
_ISSUES = """
import json
from fixtrail.issues.models import Issue
print(json.dumps([
    {"title": i.title, "tags": sorted(
        {k: v for e in i.events.all() for k, v in e.get_data().get("tags", [])}.items()
    )}
    for i in Issue.objects.filter(project__slug="fixtrail").order_by("pk")
]))
"""


def _wait_for_issues(env: dict[str, str], count: int) -> list[dict]:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        issues = query_server(env, _ISSUES)
        if len(issues) >= count:
            return issues
        time.sleep(0.5)
    raise AssertionError(f"expected {count} self-monitoring issues, saw {issues}")


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("http://abc@fixtrail.example.com/7", 7),
        ("https://abc@example.com/sentry/12/", 12),
        ("http://abc@example.com/", None),
        ("not a dsn", None),
    ],
)
def test_it_reads_the_project_id_of_a_dsn(dsn, expected):
    assert selfmonitor.project_id_of(dsn) == expected


@pytest.fixture
def recording_sdk(settings):
    """The real SDK wired as selfmonitor.start wires it, with a transport
    that keeps what would have been sent."""
    settings.SELF_DSN = "http://public@127.0.0.1:9/41"
    sent: list = []

    class Keeping(Transport):
        def capture_envelope(self, envelope) -> None:
            sent.append(envelope)

    client = sentry_sdk.Client(
        dsn=settings.SELF_DSN,
        transport=Keeping,
        before_send=selfmonitor._before_send,
        default_integrations=False,
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        yield sent
    client.close()


def _capture() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        sentry_sdk.capture_exception()


def test_it_drops_errors_raised_while_handling_its_own_projects_items(
    recording_sdk,
):
    with selfmonitor.handling([41, 3]):
        _capture()
    assert recording_sdk == []
    with selfmonitor.handling([3]):
        _capture()
    _capture()
    assert len(recording_sdk) == 2


@pytest.mark.skipif(sys.platform != "linux", reason="uses process groups")
@own_sqlite_servers
def test_it_sends_its_own_errors_to_its_own_project(tmp_path):
    port = free_port()
    env = server_env(tmp_path, f"http://127.0.0.1:{port}")
    assert run_fixtrail(env, "manage", "migrate", "-v", "0").returncode == 0
    made = run_fixtrail(
        env, "bootstrap", "--self-monitoring", "--org", "acme",
        "--email", "ops@example.com", "--password", "a long password 1",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["project"] == "fixtrail"
    assert result["setting"] == f"FIXTRAIL_SELF_DSN={result['dsn']}"
    env["FIXTRAIL_SELF_DSN"] = result["dsn"]
    web = start_granian(port, env)
    worker = subprocess.Popen(
        [*FIXTRAIL, "worker"], env=env, cwd=REPO_ROOT,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_serving(port, web, None)
        checked = run_fixtrail(env, "check", "--test-error")
        assert checked.returncode == 0, checked.stderr
        assert f"to project {result['project_id']} at http://127.0.0.1:{port}/" in (
            checked.stdout
        )
        assert result["dsn"].split("//")[1].split("@")[0] not in checked.stdout
        # An error of the worker itself: a queue message it cannot read.
        queue = open_queue(f"sqlite://{tmp_path / 'queue.sqlite3'}")
        queue.put_many([b"not a queue item"])
        queue.close()
        issues = _wait_for_issues(env, 2)
    finally:
        stop(worker)
        stop(web)
    by_process = {dict(issue["tags"])["process"]: issue for issue in issues}
    assert {"check", "worker"} <= set(by_process)
    assert "self-monitoring test error" in by_process["check"]["title"]
    assert "dropping malformed queue message" in by_process["worker"]["title"]
    version = dict(by_process["worker"]["tags"])["fixtrail.version"]
    assert version == selfmonitor.fixtrail_version() != ""


def test_check_says_when_self_monitoring_is_off(tmp_path):
    env = server_env(tmp_path, "http://127.0.0.1:8000")
    done = run_fixtrail(env, "check", "--test-error")
    assert done.returncode == 1
    assert "set FIXTRAIL_SELF_DSN" in done.stderr
