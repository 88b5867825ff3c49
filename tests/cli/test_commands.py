"""The ``fixtrail`` command line, run as an operator runs it: as a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sentry_sdk.utils import Dsn

from tests.servers import free_port, own_sqlite_servers

pytestmark = own_sqlite_servers

FIXTRAIL = [sys.executable, "-m", "fixtrail.cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    # Each command gets the defaults in a fresh data directory, whatever the
    # suite runs on: they must not touch the test database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIXTRAIL_")}
    env["FIXTRAIL_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        FIXTRAIL + args, env=env, capture_output=True, text=True, timeout=120
    )


def test_bootstrap_twice_prints_the_same_project_and_a_working_dsn(tmp_path):
    env = _env(tmp_path, FIXTRAIL_BASE_URL="https://errors.example.com")
    args = [
        "bootstrap",
        "--org",
        "Acme",
        "--project",
        "Web",
        "--email",
        "ops@example.com",
        "--password",
        "s3cret-enough",
    ]
    first = _run(args, env)
    second = _run(args, env)
    assert first.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a == b
    assert set(a) == {"org", "project", "project_id", "dsn", "token"}
    dsn = Dsn(a["dsn"])
    assert dsn.host == "errors.example.com"
    assert dsn.scheme == "https"
    assert dsn.project_id == str(a["project_id"])
    assert dsn.to_auth().get_api_url().startswith("https://errors.example.com/api/")


def test_check_warns_about_unsafe_settings(tmp_path):
    env = _env(
        tmp_path,
        FIXTRAIL_DEBUG="true",
        FIXTRAIL_BASE_URL="http://errors.example.com",
        FIXTRAIL_ALLOWED_HOSTS="other.example.com",
    )
    result = _run(["check"], env)
    assert result.returncode == 0, result.stderr
    assert "WARNING fixtrail.W001" in result.stdout
    assert "WARNING fixtrail.W003" in result.stdout
    assert "WARNING fixtrail.W004" in result.stdout
    assert f"data directory   {tmp_path}" in result.stdout


def test_check_is_quiet_on_a_safe_configuration(tmp_path):
    env = _env(
        tmp_path,
        FIXTRAIL_BASE_URL="https://errors.example.com",
        FIXTRAIL_EMAIL_HOST="smtp.example.com",
    )
    result = _run(["check"], env)
    assert "WARNING" not in result.stdout
    assert "No warnings." in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FIXTRAIL_DATABASE_URL", "mysql://db/x", "unsupported scheme 'mysql'"),
        ("FIXTRAIL_QUEUE_URL", "kafka://k:9092", "unsupported scheme 'kafka'"),
        ("FIXTRAIL_DEBUG", "maybe", "FIXTRAIL_DEBUG='maybe' is not a boolean"),
        ("FIXTRAIL_BASE_URL", "errors.example.com", "must be an absolute http(s) URL"),
        ("FIXTRAIL_ENCRYPTION_KEYS", "short", "must hold Fernet keys"),
        (
            "FIXTRAIL_OUTBOUND_DENY",
            "10.0.0.0/33",
            "FIXTRAIL_OUTBOUND_DENY='10.0.0.0/33'",
        ),
    ],
)
def test_it_explains_a_bad_setting_without_a_traceback(tmp_path, name, value, message):
    result = _run(["check"], _env(tmp_path, **{name: value}))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_run_serves_the_first_run_page_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = _env(tmp_path, FIXTRAIL_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen(
        FIXTRAIL + ["run", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/_health")
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200
        token = (tmp_path / "setup_token").read_text().strip()
        status, body = _get(f"http://127.0.0.1:{port}/setup/?token={token}")
        assert status == 200
        assert "Create the first account" in body or "Create account" in body
        status, _ = _get(f"http://127.0.0.1:{port}/_ready")
        assert status == 200
        # Ctrl-C in a terminal signals the whole process group.
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert f"/setup/?token={token}" in output
    assert proc.returncode == 0
    assert "Traceback" not in output


def test_check_warns_about_a_redis_queue_without_persistence(tmp_path):
    import redis

    conn = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    appendonly = conn.config_get("appendonly")["appendonly"]
    env = _env(tmp_path, FIXTRAIL_QUEUE_URL="redis://127.0.0.1:6379/15")
    conn.config_set("appendonly", "no")
    try:
        result = _run(["check"], env)
    finally:
        conn.config_set("appendonly", appendonly)
    assert result.returncode == 0, result.stderr
    assert "WARNING fixtrail.W007" in result.stdout


def test_an_app_command_group_runs_as_fixtrail_name(tmp_path):
    env = _env(tmp_path)
    assert _run(["manage", "migrate", "-v", "0"], env).returncode == 0
    result = _run(["jobs", "run"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran 0 jobs"


def test_an_app_command_reports_its_error_without_a_traceback(tmp_path):
    env = _env(tmp_path)
    assert _run(["manage", "migrate", "-v", "0"], env).returncode == 0
    result = _run(["jobs", "retry", "999"], env)
    assert result.returncode == 1
    assert "no job 999" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_command_is_an_argument_error(tmp_path):
    result = _run(["frobnicate"], _env(tmp_path))
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("FIXTRAIL_SELF_DSN", "errors.example.com/3", "starts with http://"),
        ("FIXTRAIL_SELF_DSN", "https://errors.example.com/3", "no public key"),
        ("FIXTRAIL_DATABASE_URL", "mysql://db/fixtrail", "unsupported scheme"),
    ],
)
def test_it_names_a_bad_setting_without_a_traceback(tmp_path, setting, value, reason):
    result = _run(["check"], _env(tmp_path, **{setting: value}))
    assert result.returncode != 0
    assert result.stderr.startswith(f"fixtrail: configuration error: {setting}")
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
