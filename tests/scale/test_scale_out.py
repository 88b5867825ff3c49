"""Two web and two digest hosts on one PostgreSQL and one Redis lose nothing
and count everything exactly, while a worker and a web process are killed
and Redis crashes and comes back.

Each "host" is a separate `fixtrail web` or `fixtrail worker` process with a
data directory of its own (nothing is shared through local files: every
event carries an attachment, kept in an S3 bucket), on its own port.
Network namespaces would add nothing the separate processes do not already
prove: every byte between them goes through PostgreSQL, Redis and S3.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.conftest import REPO_ROOT
from tests.object_store import CREDENTIALS, bucket_keys, new_bucket, storage_url
from tests.scale.conftest import needs_postgres_run
from tests.servers import free_port, server_env, stop, wait_until_serving

pytestmark = needs_postgres_run

FIXTRAIL = [sys.executable, "-m", "fixtrail.cli"]

# Distinct errors (one fingerprint each): the first events of every issue
# reach both workers in the same moment, so both try to create it.
ISSUES = 12
# Distinct users, spread over the issues so each issue sees several.
USERS = 37
EVENTS = 1500
# Of which sent after Redis is back, by one sender.
EVENTS_AFTER = 100
SENDER_THREADS = 4
# When the faults happen, in events answered so far.
KILL_AFTER_ANSWERS = 300
REDIS_CRASH_AFTER_ANSWERS = 700
REDIS_DOWN_SECONDS = 2.0
# A dead worker's batch is taken over after this long (the production
# default is 60 s; the test cannot wait that long).
VISIBILITY_SECONDS = 5
# Digest of a few thousand events by the one surviving worker, after the
# visibility timeout, on a loaded 2-core machine.
DRAIN_TIMEOUT_SECONDS = 180.0
USER_PLACEHOLDER = "u-XXXXXXXX"
ATTACHMENT = b"the last log lines before the crash\n"

_STORED = """
import django, json
django.setup()
from django.db.models import Sum
from fixtrail.events.models import Attachment, Event, ProcessingError
from fixtrail.issues.models import HourlyCount, Issue, IssueUser
hourly = dict(HourlyCount.objects.values("issue").annotate(n=Sum("count"))
              .values_list("issue", "n"))
users = {}
for issue_id in IssueUser.objects.values_list("issue", flat=True):
    users[issue_id] = users.get(issue_id, 0) + 1
print(json.dumps({
    "events": list(Event.objects.values_list("event_id", "issue_id")),
    "issues": [
        {"id": i.id, "short_id": i.short_id, "times_seen": i.times_seen,
         "user_count": i.user_count, "hourly": hourly.get(i.id, 0),
         "issue_users": users.get(i.id, 0)}
        for i in Issue.objects.all()
    ],
    "errors": list(ProcessingError.objects.values_list("error", flat=True)[:5]),
    "attachments": list(Attachment.objects.values_list("event_id", "path", "size")),
}))
"""


@dataclass
class Sent:
    """What the senders did: the fingerprint and user of every event id,
    and each answer with the times the request was sent and answered."""

    events: dict[str, tuple[int, int]] = field(default_factory=dict)
    answers: list[tuple[float, float, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    dead_ports: set[int] = field(default_factory=set)

    def answered(self, status: int) -> list[str]:
        with self.lock:
            return [event_id for _, _, event_id, got in self.answers if got == status]


def _capture_templates(project_id: str, public_key: str) -> list[bytes]:
    """Return one envelope per fingerprint, made by the real sentry_sdk."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    envelopes: list[bytes] = []

    class KeepingTransport(Transport):
        def capture_envelope(self, envelope) -> None:
            envelopes.append(envelope.serialize())

    client = sentry_sdk.Client(
        dsn=f"http://{public_key}@127.0.0.1:9/{project_id}",
        transport=KeepingTransport,
        release="shop@1.0",
        environment="production",
        default_integrations=False,
        auto_enabling_integrations=False,
        # The frame's locals hold the envelopes captured so far: each
        # envelope would carry all the earlier ones.
        include_local_variables=False,
    )
    for k in range(ISSUES):
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            scope.fingerprint = [f"scale-out-{k}"]
            scope.set_user({"id": USER_PLACEHOLDER})
            scope.add_attachment(bytes=ATTACHMENT, filename="app.log")
            try:
                raise RuntimeError(f"checkout failed in step {k}")
            except RuntimeError:
                sentry_sdk.capture_exception()
    client.close()
    assert len(envelopes) == ISSUES  # one capture each, nothing sampled out
    return envelopes


def _envelope(template: bytes, event_id: str, user: int) -> bytes:
    old_id = json.loads(template.split(b"\n", 1)[0])["event_id"].encode()
    # Same lengths, so the items' "length" headers stay right.
    body = template.replace(old_id, event_id.encode())
    return body.replace(USER_PLACEHOLDER.encode(), f"u-{user:08d}".encode())


def _send(ports, project_id, public_key, plan, sent: Sent) -> None:
    headers = {
        "X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7",
        "Content-Type": "application/x-sentry-envelope",
    }
    connections: dict[int, http.client.HTTPConnection] = {}
    for n, (event_id, body) in enumerate(plan):
        live = [port for port in ports if port not in sent.dead_ports]
        port = live[n % len(live)]
        connection = connections.get(port) or http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30
        )
        connections[port] = connection
        sent_at = time.monotonic()
        try:
            connection.request("POST", f"/api/{project_id}/envelope/", body, headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            # The host died under the request: not answered, so not owed.
            connection.close()
            connections.pop(port)
            with sent.lock:
                sent.dead_ports.add(port)
            status = 0
        with sent.lock:
            sent.answers.append((sent_at, time.monotonic(), event_id, status))
    for connection in connections.values():
        connection.close()


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*FIXTRAIL, *args], env=env, cwd=REPO_ROOT,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _kill_web_host(supervisor: subprocess.Popen) -> None:
    """SIGKILL `fixtrail web` and granian's whole process group at once, as
    a host that loses power would."""
    children = Path(f"/proc/{supervisor.pid}/task/{supervisor.pid}/children")
    for child in children.read_text().split():
        os.killpg(int(child), signal.SIGKILL)
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(10)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _drained(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
    try:
        # Acked entries are deleted, so an empty stream means all digested.
        return client.xlen("fixtrail:queue:events") == 0
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and SIGKILL")
def test_it_stores_every_answered_event_once_with_exact_counts(
    tmp_path, postgres_url, own_redis, s3_endpoint
):
    bucket = new_bucket(s3_endpoint)

    def env_of(host: str, port: int = 0) -> dict[str, str]:
        data_dir = tmp_path / host
        data_dir.mkdir(exist_ok=True)
        env = server_env(data_dir, f"http://127.0.0.1:{port or 8000}")
        env.update(
            FIXTRAIL_DATABASE_URL=postgres_url,
            FIXTRAIL_QUEUE_URL=own_redis.url,
            FIXTRAIL_QUEUE_VISIBILITY_SECONDS=str(VISIBILITY_SECONDS),
            FIXTRAIL_LOG_LEVEL="INFO",
            FIXTRAIL_STORAGE_URL=storage_url(s3_endpoint, bucket),
            **CREDENTIALS,
        )
        return env

    admin_env = env_of("admin")
    _run([*FIXTRAIL, "manage", "migrate", "-v", "0"], admin_env)
    made = json.loads(
        _run(
            [
                *FIXTRAIL,
                "bootstrap",
                "--org",
                "acme",
                "--project",
                "backend",
                "--email",
                "ops@example.com",
                "--password",
                "a long password 1",
            ],
            admin_env,
        )  # fmt: skip
    )
    dsn = made["dsn"]
    public_key = dsn.split("//", 1)[1].split("@", 1)[0]
    project_id = str(made["project_id"])

    ports = [free_port(), free_port()]
    processes: list[subprocess.Popen] = []
    webs = []
    for name, port in zip(("web-a", "web-b"), ports, strict=True):
        web = _start(
            ["web", "--port", str(port), "--workers", "1"],
            env_of(name, port),
            tmp_path / f"{name}.log",
        )
        processes.append(web)
        webs.append(web)
    workers = []
    for name in ("worker-a", "worker-b"):
        worker = _start(
            ["worker", "--name", name], env_of(name), tmp_path / f"{name}.log"
        )
        processes.append(worker)
        workers.append(worker)
    try:
        for web, port, name in zip(webs, ports, ("web-a", "web-b"), strict=True):
            wait_until_serving(port, web, tmp_path / f"{name}.log")

        templates = _capture_templates(project_id, public_key)
        sent = Sent()
        plan = []
        for n in range(EVENTS):
            event_id = uuid.uuid4().hex
            fingerprint, user = n % ISSUES, n % USERS
            sent.events[event_id] = (fingerprint, user)
            plan.append((event_id, _envelope(templates[fingerprint], event_id, user)))
        plan, after = plan[:-EVENTS_AFTER], plan[-EVENTS_AFTER:]
        senders = [
            threading.Thread(
                target=_send,
                args=(ports, project_id, public_key, plan[i::SENDER_THREADS], sent),
            )
            for i in range(SENDER_THREADS)
        ]
        for thread in senders:
            thread.start()

        _wait_for(lambda: len(sent.answered(200)) >= KILL_AFTER_ANSWERS, 120, "answers")
        workers[0].send_signal(signal.SIGKILL)
        _kill_web_host(webs[0])

        _wait_for(
            lambda: len(sent.answered(200)) >= REDIS_CRASH_AFTER_ANSWERS, 120, "answers"
        )
        own_redis.kill()
        crashed_at = time.monotonic()
        time.sleep(REDIS_DOWN_SECONDS)
        # Redis may take writes before start() sees it answer.
        restarting_at = time.monotonic()
        own_redis.start()
        back_at = time.monotonic()

        for thread in senders:
            thread.join(300)
        # Events sent once Redis is back must be taken again, with no
        # restart of the web processes.
        _send(ports, project_id, public_key, after, sent)
        _wait_for(lambda: _drained(own_redis.url), DRAIN_TIMEOUT_SECONDS, "digest")
        stop(workers[1])
        stored = json.loads(_run([sys.executable, "-c", _STORED], admin_env))
    finally:
        for process in processes:
            stop(process)

    with sent.lock:
        answers = list(sent.answers)
    # While Redis was down ingest refused (503) and never claimed success;
    # once it was back, ingest accepted again by itself.
    # Requests sent after the crash and answered before Redis restarted: a
    # request sent before it may have been stored, and answered 200, late.
    during = {
        status
        for sent_at, at, _, status in answers
        if crashed_at < sent_at and at < restarting_at
    }
    assert 503 in during
    assert 200 not in during
    assert all(status == 200 for sent_at, _, _, status in answers if sent_at > back_at)
    assert {status for _, _, _, status in answers} <= {0, 200, 503}

    # The faults hit a stream in full flow, not its tail.
    assert len(sent.answered(200)) > EVENTS // 2
    stored_ids = [event_id for event_id, _ in stored["events"]]
    assert stored["errors"] == []
    # Every event answered 200 is stored, and no event is stored twice.
    assert set(sent.answered(200)) <= set(stored_ids)
    assert len(stored_ids) == len(set(stored_ids))
    # Some answers were lost with the killed web host, yet their events may
    # have been queued: the counts below are checked against what is stored.
    assert set(stored_ids) <= set(sent.events)

    issue_of_fingerprint: dict[int, set[int]] = {}
    events_of_issue: dict[int, int] = {}
    users_of_issue: dict[int, set[int]] = {}
    for event_id, issue_id in stored["events"]:
        fingerprint, user = sent.events[event_id]
        issue_of_fingerprint.setdefault(fingerprint, set()).add(issue_id)
        events_of_issue[issue_id] = events_of_issue.get(issue_id, 0) + 1
        users_of_issue.setdefault(issue_id, set()).add(user)
    # One issue per fingerprint, even though both workers saw its first
    # events at once, and no stray issues.
    assert all(len(ids) == 1 for ids in issue_of_fingerprint.values())
    assert len(stored["issues"]) == ISSUES == len(issue_of_fingerprint)
    short_ids = [issue["short_id"] for issue in stored["issues"]]
    assert len(set(short_ids)) == ISSUES
    for issue in stored["issues"]:
        expected_users = len(users_of_issue[issue["id"]])
        assert issue["times_seen"] == events_of_issue[issue["id"]], issue
        assert issue["hourly"] == issue["times_seen"], issue
        assert issue["user_count"] == expected_users, issue
        assert issue["issue_users"] == expected_users, issue

    # Every stored event has its attachment, in the bucket and nowhere else.
    attached = [event_id for event_id, _, _ in stored["attachments"]]
    assert sorted(attached) == sorted(stored_ids)
    assert {size for _, _, size in stored["attachments"]} == {len(ATTACHMENT)}
    in_bucket = set(bucket_keys(s3_endpoint, bucket))
    assert {f"fixtrail/{path}" for _, path, _ in stored["attachments"]} <= in_bucket
    assert not list(tmp_path.glob("*/attachments"))
