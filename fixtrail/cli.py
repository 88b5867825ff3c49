"""The ``fixtrail`` command line.

fixtrail run         migrate, then serve web and workers on one machine
fixtrail web         the web/ingest server alone
fixtrail worker      the background workers alone (digest and jobs)
fixtrail bootstrap   scripted, idempotent set-up; prints JSON
fixtrail check       effective configuration and warnings
fixtrail manage ...  Django's management commands
fixtrail NAME ...    an app's own command group (repo, integration, ticket,
                     alert, ...): the management command NAME of the app
                     that owns the work
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from fixtrail.lib.ports import PortClaim, PortInUse, base_url, claim_port
from fixtrail.lib.processes import die_with_parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Seconds a child gets to finish its current work after SIGTERM before it
# is killed; digest batches take well under a second.
SHUTDOWN_GRACE_SECONDS = 20
# The project `bootstrap --self-monitoring` makes for Fixtrail's own errors.
SELF_PROJECT = "fixtrail"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        sys.exit(f"fixtrail: configuration error: {exc}")


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _print_setup_link() -> None:
    from django.conf import settings

    from fixtrail.accounts import setup

    if setup.needs_setup():
        token = setup.setup_token()
        print(
            "\nNo account exists yet. Create the first one here:\n"
            f"  {settings.BASE_URL}/setup/?token={token}\n",
            flush=True,
        )


def run_web_workers(cores: int | None) -> int:
    """Return ``fixtrail run``'s default number of web worker processes:
    one core is left to digest, which runs beside them on the same machine.

    On 2 cores, one web worker carries more events end to end than two
    (bench/e2e.py: 3,280 against 3,080 events/s, and 65 MB less memory):
    a second one takes CPU from digest, which is the limit. Past 4, web
    workers only answer faster than the single digest worker can store.
    """
    return max(1, min(4, (cores or 2) - 1))


def _usable_cores() -> int | None:
    # The cores this process may run on (a cpuset narrows them), not the
    # machine's.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def _collect_static() -> str:
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    return str(settings.STATIC_ROOT)


# Two threads per web worker: one more than ingest's best (measured with
# wrk), so one slow page cannot hold up the SDK endpoints.
WEB_BLOCKING_THREADS = 2
# `fixtrail run` serves the web this much nicer than digest. When ingest and
# digest share too few cores, equal shares let ingest accept events faster
# than digest stores them: the backlog grows for as long as the load lasts
# and events show up minutes late. Favouring digest keeps the backlog to a
# few seconds; ingest still gets every cycle digest does not need, so below
# saturation nothing changes (bench/e2e.py; README, Performance). At 5,
# PostgreSQL + Redis still let ingest run ahead (its queue write is cheaper
# than SQLite's): 30,000 events behind after a minute of full load; at 8
# the backlog stays near a second's worth on both, p99 under 30 ms.
WEB_NICENESS = 8
WSGI_TARGET = "fixtrail.wsgi:application"


def _web_command(host: str, port: int, workers: int, static_root: str) -> list[str]:
    # granian serves /static/ itself, so Django never sees those requests.
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(WEB_BLOCKING_THREADS),
        "--no-ws",
        "--static-path-route",
        "/static",
        "--static-path-mount",
        static_root,
        "--workers-kill-timeout",
        str(SHUTDOWN_GRACE_SECONDS),
        "--log-level",
        "warning",
        WSGI_TARGET,
    ]


def _serve_here(
    host: str, port: int, static_root: str, children: list[subprocess.Popen]
) -> int:
    """Serve the web with one worker thread in this process until a signal
    arrives or a child exits, then stop the children; return the exit code.

    The same server as _web_command's with one worker, without granian's
    watching process (fixtrail.lib.webserver).
    """
    from fixtrail.lib.webserver import InProcessWeb

    web = InProcessWeb(
        WSGI_TARGET,
        host,
        port,
        {
            "blocking_threads": WEB_BLOCKING_THREADS,
            "static_path_route": ["/static"],
            "static_path_mount": [Path(static_root)],
            "workers_kill_timeout": SHUTDOWN_GRACE_SECONDS,
            "log_level": "warning",
        },
    )
    # The exit code of the first child that exited on its own, if any.
    exited: list[int] = []
    stopping = threading.Event()

    def watch(child: subprocess.Popen) -> None:
        code = child.wait()
        if not stopping.is_set():
            exited.append(code or 0)
            web.stop()

    def stop_children() -> None:
        stopping.set()
        _stop_children(children)

    for child in children:
        threading.Thread(target=watch, args=(child,), daemon=True).start()
    web.on_shutdown(stop_children)
    web.serve()
    return exited[0] if exited else 0


def _metrics_dir(*, fresh: bool) -> None:
    """Point prometheus_client's multi-process files at the data dir.

    Every process of this installation on this host (granian's workers,
    digest workers) writes its counters there and /metrics adds them up.
    Set before Django (and so prometheus_client) loads, and inherited by
    children. ``fresh`` empties it: counters restart with ``fixtrail run``.
    """
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return
    data_dir = Path(os.environ.get("FIXTRAIL_DATA_DIR", "data")).resolve()
    path = data_dir / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        for stale in path.glob("*.db"):
            stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def _spawn(command: list[str]) -> subprocess.Popen:
    # Each child gets its own process group, so a Ctrl-C in the terminal
    # reaches only this supervisor, which then sends every child exactly one
    # SIGTERM. granian stops uncleanly when a second signal arrives during
    # its graceful shutdown and would leave its workers running.
    return subprocess.Popen(
        command,
        process_group=0,
        # The supervisor runs no threads, so a pre-exec hook is safe here.
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a child exits or a signal arrives, then stop all children."""
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code = child.returncode or 0
                stopping = True
        time.sleep(0.2)
    _stop_children(children)
    return code


def _stop_children(children: list[subprocess.Popen]) -> None:
    """SIGTERM the children; kill those still running after the grace."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _prepare(*, migrate: bool) -> str:
    """Migrate and collect static files in a child process; return the
    static root.

    A supervisor of web worker processes never loads Django: it would hold
    ~50 MB for the whole life of the server only to wait on its children.
    """
    command = [sys.executable, "-m", "fixtrail.cli", "prepare"]
    if not migrate:
        command.append("--no-migrate")
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.returncode)
    *messages, static_root = done.stdout.rstrip("\n").split("\n")
    if messages:
        print("\n".join(messages), flush=True)
    return static_root


def cmd_prepare(args: argparse.Namespace) -> int:
    _setup_django()
    if args.migrate:
        _migrate()
        _print_setup_link()
    # The last line is for _prepare: where granian finds the static files.
    print(_collect_static())
    return 0


def _claim_port(host: str, port: int) -> PortClaim:
    """Claim host:port for this server or exit with a message naming it.

    Also makes the port the base URL of every child (links, DSNs) unless
    FIXTRAIL_BASE_URL says otherwise: children read it from the environment.
    """
    try:
        claim = claim_port(host, port)
    except PortInUse as exc:
        sys.exit(f"fixtrail: {exc}")
    os.environ.setdefault("FIXTRAIL_BASE_URL", base_url(host, port))
    return claim


def cmd_run(args: argparse.Namespace) -> int:
    claim = _claim_port(args.host, args.port)
    _metrics_dir(fresh=True)
    static_root = _prepare(migrate=True)
    print(
        f"Fixtrail serving on http://{args.host}:{args.port}/ "
        f"(links and DSNs use {os.environ['FIXTRAIL_BASE_URL']})",
        flush=True,
    )
    worker = _spawn([sys.executable, "-m", "fixtrail.cli", "worker"])
    # On Linux this lowers the calling thread only; the web's threads, or its
    # processes, start from it and inherit the niceness. The worker above
    # started before and keeps its own.
    os.nice(args.web_niceness)
    try:
        if args.workers == 1:
            return _serve_here(args.host, args.port, static_root, [worker])
        web = _spawn(_web_command(args.host, args.port, args.workers, static_root))
        return _supervise([web, worker])
    finally:
        claim.release()


def cmd_web(args: argparse.Namespace) -> int:
    claim = _claim_port(args.host, args.port)
    _metrics_dir(fresh=False)
    static_root = _prepare(migrate=False)
    try:
        if args.workers == 1:
            return _serve_here(args.host, args.port, static_root, [])
        web = _spawn(_web_command(args.host, args.port, args.workers, static_root))
        return _supervise([web])
    finally:
        claim.release()


def cmd_worker(args: argparse.Namespace) -> int:
    _metrics_dir(fresh=False)
    _setup_django()
    from fixtrail.core import selfmonitor
    from fixtrail.digest.worker import run_worker

    selfmonitor.start("worker")
    return run_worker(consumer=args.name)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    _setup_django()
    _migrate()
    from fixtrail.accounts.setup import bootstrap

    project = args.project or (SELF_PROJECT if args.self_monitoring else None)
    if project is None:
        print("fixtrail bootstrap: --project is required", file=sys.stderr)
        return 2
    result = bootstrap(args.org, project, args.email, args.password)
    if args.self_monitoring:
        # The line to add to Fixtrail's own environment.
        result["setting"] = f"FIXTRAIL_SELF_DSN={result['dsn']}"
    print(json.dumps(result))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings
    from django.core import checks

    rows = {
        "data directory": str(settings.DATA_DIR),
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        + " "
        + str(settings.DATABASES["default"]["NAME"]),
        "queue": _redact(settings.QUEUE_URL),
        "storage": settings.STORAGE_URL or "files under the data directory",
        "base URL": settings.BASE_URL,
        "allowed hosts": ", ".join(settings.ALLOWED_HOSTS),
        "debug": str(settings.DEBUG),
        "e-mail": settings.EMAIL_HOST or "console (not sent)",
    }
    for name, value in rows.items():
        print(f"{name:16} {value}")
    found = checks.run_checks(tags=["fixtrail"], include_deployment_checks=True)
    for message in found:
        print(f"WARNING {message.id}: {message.msg}\n    hint: {message.hint}")
    if not found:
        print("No warnings.")
    if args.test_error:
        return _send_test_error()
    return 0


def _send_test_error() -> int:
    """Report one error through the self-monitoring wiring; say where it went."""
    from django.conf import settings

    from fixtrail.core import selfmonitor
    from fixtrail.lib.dsn import parse_dsn

    if not selfmonitor.start("check"):
        print("self-monitoring is off: set FIXTRAIL_SELF_DSN", file=sys.stderr)
        return 1
    event_id = selfmonitor.send_test_error()
    if event_id is None:
        print("the test error was not sent", file=sys.stderr)
        return 1
    print(
        f"sent test error {event_id} to project {selfmonitor.own_project_id()} "
        f"at {parse_dsn(settings.SELF_DSN).display}"
    )
    return 0


def _redact(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fixtrail manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for the ``fixtrail`` command."""
    parser = argparse.ArgumentParser(
        prog="fixtrail", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext, workers in (
        (
            "run",
            cmd_run,
            "migrate, then serve the web server and workers together",
            run_web_workers(_usable_cores()),
        ),
        ("web", cmd_web, "serve the web and ingest endpoints only", 2),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default=DEFAULT_HOST)
        p.add_argument("--port", type=int, default=DEFAULT_PORT)
        p.add_argument(
            "--workers",
            type=int,
            default=workers,
            help=f"web worker processes (default {workers})",
        )
        if func is cmd_run:
            p.add_argument(
                "--web-niceness",
                type=int,
                choices=range(20),
                default=WEB_NICENESS,
                metavar="0-19",
                help="how much lower the web's CPU priority is than the "
                f"workers' (default {WEB_NICENESS}; 0 for the same)",
            )
        p.set_defaults(func=func)
    p = sub.add_parser("prepare", help=argparse.SUPPRESS)
    p.add_argument("--no-migrate", dest="migrate", action="store_false")
    p.set_defaults(func=cmd_prepare)
    p = sub.add_parser("worker", help="run the background workers (digest, jobs)")
    p.add_argument("--name", default=None, help="consumer name (default: host-pid)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("bootstrap", help="create user, org, project, DSN and token")
    p.add_argument("--org", required=True)
    p.add_argument(
        "--project", help=f"required unless --self-monitoring ({SELF_PROJECT})"
    )
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument(
        "--self-monitoring",
        action="store_true",
        help="a project for Fixtrail's own errors; prints FIXTRAIL_SELF_DSN",
    )
    p.set_defaults(func=cmd_bootstrap)
    p = sub.add_parser("check", help="print the configuration and warnings")
    p.add_argument(
        "--test-error",
        action="store_true",
        help="report one error through FIXTRAIL_SELF_DSN and say where it went",
    )
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def _app_command(argv: list[str]) -> int | None:
    """Run ``fixtrail NAME …`` as the management command NAME, if one exists.

    Domain command groups live in the app that owns the work (``repo`` in
    releases, ``alert`` in alerts, ...), so this module needs no change
    when an app adds one. Returns None when NAME is no such command.
    """
    if not argv or argv[0].startswith("-"):
        return None
    _setup_django()
    from django.core.management import get_commands, load_command_class

    app = get_commands().get(argv[0])
    if app is None:
        return None
    # run_from_argv prints a CommandError as "CommandError: …" and exits 1.
    load_command_class(app, argv[0]).run_from_argv(["fixtrail", *argv])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fixtrail`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    builtin = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if argv and argv[0] not in builtin:
        code = _app_command(argv)
        if code is not None:
            return code
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
