"""Ingest throughput and latency against a running server, with real SDK events.

Run from the repository root, either against a server you started::

    .venv/bin/python bench/ingest.py --dsn http://<key>@127.0.0.1:8000/1 [--pid <pid>]

or let the script start one in a throwaway data directory::

    .venv/bin/python bench/ingest.py --start run        # `fixtrail run`
    .venv/bin/python bench/ingest.py --start granian    # granian + fixtrail.wsgi only

What it does:

1. raises 200 distinct errors (generated functions with their own names,
   exception types and source lines) under the real sentry_sdk with a
   transport that keeps the envelopes: about 10 KB each, with breadcrumbs,
   tags, user, request data and local variables;
2. makes ``--bodies`` unique envelopes from them (a fresh event_id each) and
   gzips them, as the SDK does, into ready-to-send HTTP requests;
3. phase "max": ``--connections`` keep-alive connections post as fast as the
   server answers for ``--duration`` seconds;
4. phase "steady": the same connections post at ``--rate`` events/s;
5. prints accepted events/s and p50/p99 latency of each phase, and the peak
   resident memory of the server processes (the process tree of ``--pid``,
   or every process holding the listening socket).

The client is a single-threaded selector loop over raw sockets sending
pre-built bytes: a Python HTTP library spends about 1 ms of CPU per request,
which on a 2-core machine would measure the client instead of the server.

Reference figures (2-core machine, SQLite defaults, granian with 2 workers),
measured while writing the lean WSGI path: with wrk posting a 2.8 KB envelope
over 16 connections, the lean path answers about 4,500 req/s against about
1,900 req/s through Django's middleware and URL resolver, each request
committed to the SQLite queue. More granian blocking threads lower both
(GIL and SQLite write-lock contention): 1 or 2 per worker is best.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import linecache
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_ERRORS = 200
DEFAULT_BODIES = 5000
DEFAULT_CONNECTIONS = 16
DEFAULT_DURATION_SECONDS = 15.0
DEFAULT_RATE = 500.0

# Server start-up (migrations, collectstatic, granian workers) takes a few
# seconds; a minute means something is wrong.
START_TIMEOUT_SECONDS = 60.0

# Resident memory is sampled this often; short peaks between samples are
# missed, but the server's memory moves slowly.
MEMORY_SAMPLE_SECONDS = 0.2

EXCEPTION_TYPES = [
    ValueError,
    KeyError,
    RuntimeError,
    LookupError,
    TypeError,
    PermissionError,
    TimeoutError,
    ZeroDivisionError,
]

_FUNCTION_TEMPLATE = """\
def handle_order_{n}(order_id, customer, cart):
    subtotal = sum(item["price"] * item["quantity"] for item in cart)
    shipping = {{"country": customer["country"], "method": "express"}}
    audit = [f"step {{step}} of order {{order_id}}" for step in range(6)]
    if order_id >= 0:
        raise {exception}(f"order {{order_id}} failed in step {n}")
    return subtotal, shipping, audit
"""


def _make_functions(count: int) -> list:
    """Compile ``count`` distinct functions whose source the SDK can show."""
    functions = []
    for n in range(count):
        exception = EXCEPTION_TYPES[n % len(EXCEPTION_TYPES)].__name__
        source = _FUNCTION_TEMPLATE.format(n=n, exception=exception)
        # Under the project root, so the SDK marks the frames in-app as it
        # does for an application's own code; each error is then its own
        # issue, as 200 distinct bugs should be.
        filename = str(ROOT / "shop" / "orders" / f"handler_{n}.py")
        # The SDK reads context lines through linecache; seeding it gives
        # frames real source without writing files.
        linecache.cache[filename] = (
            len(source),
            None,
            source.splitlines(True),
            filename,
        )
        namespace: dict = {"__name__": f"shop.orders.handler_{n}"}
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (our template)
        functions.append(namespace[f"handle_order_{n}"])
    return functions


def capture_envelopes(dsn: str, errors: int) -> list[bytes]:
    """Raise ``errors`` distinct errors under sentry_sdk; return the envelopes."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    envelopes: list[bytes] = []

    class KeepingTransport(Transport):
        def capture_envelope(self, envelope) -> None:
            envelopes.append(envelope.serialize())

    sentry_sdk.init(
        dsn=dsn,
        transport=KeepingTransport,
        release="shop@4.2.0",
        environment="production",
        server_name="web-1",
        send_default_pii=True,
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    for n, function in enumerate(_make_functions(errors)):
        with sentry_sdk.new_scope() as scope:
            scope.set_user({"id": str(n), "email": f"user{n}@example.org"})
            scope.set_tag("region", ["eu-west", "us-east", "ap-south"][n % 3])
            scope.set_context("order", {"id": n, "items": n % 5 + 1})
            note = " ".join(f"line {n}-{word}" for word in range(120))
            scope.set_extra("request_body", {"order": n, "note": note})
            for step in range(30):
                scope.add_breadcrumb(
                    category="http",
                    message=f"GET /api/products/{step * 17 + n}?page={step} -> 200",
                    data={"duration_ms": step * 3, "cache": "miss"},
                )
            customer = {"id": n, "name": f"Customer {n}", "country": "DE"}
            cart = [{"sku": f"SKU-{n}-{i}", "price": 9.99 + i, "quantity": i + 1}
                    for i in range(4)]  # fmt: skip
            try:
                function(100_000 + n, customer, cart)
            except Exception:
                sentry_sdk.capture_exception()
    sentry_sdk.get_client().close()
    return envelopes


def build_requests(envelopes: list[bytes], dsn: str, count: int) -> list[bytes]:
    """Return ``count`` complete HTTP requests, each a unique gzipped envelope."""
    parts = urlsplit(dsn)
    project_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
    host = f"{parts.hostname}:{parts.port or 80}"
    requests = []
    for n in range(count):
        template = envelopes[n % len(envelopes)]
        old_id = json.loads(template.split(b"\n", 1)[0])["event_id"].encode()
        # Same length, so every item's "length" header stays right.
        body = gzip.compress(template.replace(old_id, uuid.uuid4().hex.encode()), 6)
        head = (
            f"POST /api/{project_id}/envelope/ HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            f"X-Sentry-Auth: Sentry sentry_key={parts.username}, sentry_version=7, "
            "sentry_client=sentry.python/2.75.0\r\n"
            "Content-Type: application/x-sentry-envelope\r\n"
            "Content-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


class _Connection:
    __slots__ = ("sock", "buffer", "started", "busy")

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.started = 0.0
        self.busy = False


def _response_length(buffer: bytes) -> int | None:
    """Return the full length of the HTTP response at the start of buffer,
    or None while its headers are incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end == -1:
        return None
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", buffer[:end])
    return end + 4 + (int(match.group(1)) if match else 0)


def run_phase(
    address: tuple[str, int],
    requests: list[bytes],
    connections: int,
    duration: float,
    rate: float | None,
) -> dict:
    """Post requests for ``duration`` seconds; return counts and latencies.

    With ``rate`` requests are paced to that many per second, otherwise each
    connection sends its next request as soon as the previous one answered.
    """
    selector = selectors.DefaultSelector()
    pool = [_Connection(address) for _ in range(connections)]
    for connection in pool:
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = 0
    start = time.perf_counter()
    deadline = start + duration
    # First in, first out: every connection is used in turn. Taking the
    # most recently freed one would leave the others idle for long enough
    # (granian's 30 s keep-alive read timeout) that the server closes them.
    idle = collections.deque(pool)
    while True:
        now = time.perf_counter()
        if now < deadline:
            while idle and (rate is None or sent < (now - start) * rate):
                connection = idle.popleft()
                connection.started = time.perf_counter()
                connection.busy = True
                connection.sock.setblocking(True)
                connection.sock.sendall(requests[sent % len(requests)])
                connection.sock.setblocking(False)
                sent += 1
        elif not any(connection.busy for connection in pool):
            break
        timeout = 0.001 if rate is not None and now < deadline else 0.05
        for key, _ in selector.select(timeout):
            connection = key.data
            chunk = connection.sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed a connection")
            connection.buffer += chunk
            length = _response_length(connection.buffer)
            if length is None or len(connection.buffer) < length:
                continue
            status = int(connection.buffer[9:12])
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(time.perf_counter() - connection.started)
            connection.buffer = connection.buffer[length:]
            connection.busy = False
            idle.append(connection)
    elapsed = time.perf_counter() - start
    for connection in pool:
        selector.unregister(connection.sock)
        connection.sock.close()
    latencies.sort()
    return {
        "elapsed": elapsed,
        "statuses": statuses,
        "accepted_per_second": statuses.get(200, 0) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
    }


def _listening_pids(port: int) -> set[int]:
    """Return the processes holding a listening TCP socket on ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(proc.name))
                    break
        except OSError:
            continue
    return pids


def _process_tree(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(proc.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    return tree


def _rss_bytes(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class MemoryWatch:
    """Sample the summed resident memory of a set of processes in a thread."""

    def __init__(self, find_pids) -> None:
        self.find_pids = find_pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pids = self.find_pids()
        while not self._stop.wait(MEMORY_SAMPLE_SECONDS):
            self.peak = max(self.peak, _rss_bytes(pids))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_MAKE_KEY = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project, ProjectKey
org = Organization.objects.create(slug="bench", name="Bench")
project = Project.objects.create(organization=org, slug="shop", name="Shop")
print(ProjectKey.objects.create(project=project).dsn)
"""


def start_server(kind: str, workers: int, target: str) -> tuple[subprocess.Popen, str]:
    """Start ``fixtrail run`` or bare granian in a fresh data directory.

    Returns the process (leader of its own process group) and a DSN.
    """
    data_dir = tempfile.mkdtemp(prefix="fixtrail-bench-ingest-")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FIXTRAIL_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="fixtrail.settings",
        FIXTRAIL_DATA_DIR=data_dir,
        FIXTRAIL_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=str(ROOT),
    )
    made = subprocess.run(
        [sys.executable, "-c", _MAKE_KEY],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    dsn = made.stdout.strip().splitlines()[-1]
    if kind == "run":
        command = [sys.executable, "-m", "fixtrail.cli", "run", "--port", str(port),
                   "--workers", str(workers)]  # fmt: skip
    else:
        command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--port",
                   str(port), "--workers", str(workers), "--blocking-threads", "1",
                   "--no-ws", "--log-level", "warning", target]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, dsn
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("the server did not start listening")


def _print_phase(name: str, result: dict) -> None:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
    print(
        f"{name:>7}: {result['accepted_per_second']:8,.0f} events/s accepted   "
        f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms   "
        f"({statuses} in {result['elapsed']:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", help="DSN of a project on a running server")
    parser.add_argument("--pid", type=int, help="server process to watch (its tree)")
    parser.add_argument("--start", choices=["run", "granian"], help="start a server")
    parser.add_argument("--workers", type=int, default=2, help="web workers (--start)")
    parser.add_argument(
        "--target",
        default="fixtrail.wsgi:application",
        help="WSGI application for --start granian",
    )
    parser.add_argument("--errors", type=int, default=DEFAULT_ERRORS)
    parser.add_argument("--bodies", type=int, default=DEFAULT_BODIES)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_SECONDS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE)
    args = parser.parse_args()
    if bool(args.dsn) == bool(args.start):
        parser.error("give exactly one of --dsn and --start")

    server = None
    if args.start:
        server, dsn = start_server(args.start, args.workers, args.target)
        root_pid = server.pid
    else:
        dsn, root_pid = args.dsn, args.pid
    try:
        parts = urlsplit(dsn)
        address = (parts.hostname, parts.port or 80)
        started = time.perf_counter()
        envelopes = capture_envelopes(dsn, args.errors)
        requests = build_requests(envelopes, dsn, args.bodies)
        sizes = sorted(len(envelope) for envelope in envelopes)
        wire = sorted(len(request) for request in requests)
        print(
            f"{len(envelopes)} distinct sentry_sdk envelopes, median "
            f"{sizes[len(sizes) // 2]:,} B ({wire[len(wire) // 2]:,} B gzipped on the "
            f"wire); {len(requests):,} unique requests built in "
            f"{time.perf_counter() - started:.1f} s"
        )

        def find_pids() -> set[int]:
            if root_pid:
                return _process_tree(root_pid)
            return _listening_pids(address[1])

        with MemoryWatch(find_pids) as watch:
            # A short warm-up fills caches (key lookups, connections).
            run_phase(address, requests, args.connections, 1.0, None)
            maximum = run_phase(
                address, requests, args.connections, args.duration, None
            )
            steady = run_phase(
                address, requests, args.connections, args.duration, args.rate
            )
        print(f"server: {address[0]}:{address[1]}, {args.connections} connections")
        _print_phase("max", maximum)
        _print_phase("steady", steady)
        print(f"peak server memory: {watch.peak / 2**20:,.0f} MB (resident, summed)")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
