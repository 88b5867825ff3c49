"""CPU per event, by stage of the pipeline, from a sampling profile.

    .venv/bin/python bench/stages.py [--rate 800] [--duration 30]

Needs py-spy (``pip install py-spy``; not a dependency of Fixtrail).

1. starts `fixtrail run` in a throwaway data directory (SQLite defaults, or
   what FIXTRAIL_DATABASE_URL / FIXTRAIL_QUEUE_URL say) and sends real-SDK
   envelopes (bench/ingest.py: 200 distinct errors, about 10 KB, gzipped,
   a fresh event id each) at a steady ``--rate`` that the server keeps up
   with, so every event is received and digested within the window;
2. after a warm-up, records every server process (the web, the digest
   worker and its helper) with ``py-spy record --nonblocking`` at
   SAMPLE_RATE Hz for ``--duration`` seconds; idle threads are not sampled,
   so samples / rate is CPU time;
3. sorts each sample into a stage by the innermost frame that a rule of
   STAGES recognizes, and divides each stage's CPU time by the events
   received (ingest's stages) or stored (digest's) in the window.

It prints a table and one JSON line of microseconds of CPU per event by
stage. The profiler's own overhead inflates every stage by a few percent.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e  # noqa: E402  (bench/e2e.py, beside this file)
import ingest as ingest_bench  # noqa: E402
from e2e import start_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 100
WARM_UP_SECONDS = 8.0

# (stage, file part, function pattern): the first rule that matches a frame,
# from the innermost frame outwards, names the sample's stage. Queue frames
# are "enqueue" in a web process and "dequeue" in a worker.
STAGES: list[tuple[str, str, str]] = [
    ("decompress", "fixtrail/ingest/bodies.py", r"decompress|inflate|brotli|zstd"),
    ("parse", "fixtrail/ingest/envelope.py", ""),
    ("queue", "fixtrail/queue/", ""),
    ("queue", "fixtrail/ingest/outbox.py", ""),
    ("queue", "fixtrail/ingest/items.py", ""),
    ("receive", "fixtrail/ingest/", ""),
    ("receive", "granian/", ""),
    ("compress", "fixtrail/events/storage.py", r"compress"),
    ("group", "fixtrail/digest/grouping/", ""),
    ("group", "fixtrail/digest/fingerprint_rules.py", ""),
    ("normalize", "fixtrail/digest/normalize/", ""),
    ("normalize", "fixtrail/digest/scrub.py", ""),
    ("normalize", "fixtrail/digest/filters.py", ""),
    ("normalize", "fixtrail/symbols/", ""),
    ("parse", "fixtrail/digest/prepare.py", r"_prepare_event"),
    ("write", "fixtrail/digest/event_writes.py", ""),
    ("write", "fixtrail/digest/issue_writes.py", ""),
    ("write", "fixtrail/digest/counts.py", ""),
    ("write", "fixtrail/digest/batches.py", r"write"),
    ("write", "fixtrail/core/upserts.py", ""),
    ("write", "fixtrail/issues/", ""),
    ("write", "fixtrail/releases/", ""),
    ("handoff", "multiprocessing/", ""),
    ("handoff", "concurrent/futures/", ""),
    ("jobs", "fixtrail/jobs/", ""),
    ("jobs", "fixtrail/alerts/", ""),
]
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")
INGEST_STAGES = ("receive", "decompress", "parse", "enqueue")
DIGEST_STAGES = ("dequeue", "parse", "normalize", "group", "compress", "write")


def classify(stack: list[str], web: bool) -> str:
    """Return the stage of one sampled stack (outermost frame first)."""
    for frame in reversed(stack):
        match = _FRAME.match(frame)
        if not match:
            continue
        file, function = match["file"], match["function"]
        for stage, part, pattern in STAGES:
            if part in file and (not pattern or re.search(pattern, function)):
                if stage == "queue":
                    return "enqueue" if web else "dequeue"
                return stage
    return "other"


def tally(profile: Path, web: bool) -> Counter:
    """Return samples per stage of one py-spy raw profile."""
    counts: Counter = Counter()
    for line in profile.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if stack and number.isdigit():
            counts[classify(stack.split(";"), web)] += int(number)
    return counts


def _profile(pids: dict[int, bool], seconds: float, directory: Path) -> dict[int, Path]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    outputs = {pid: directory / f"profile-{pid}.txt" for pid in pids}
    runs = [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds)),
                "-r",
                str(SAMPLE_RATE),
                "-f",
                "raw",
                "-o",
                str(outputs[pid]),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for pid in pids
    ]
    for run in runs:
        run.wait()
    return outputs


def _server_processes(root: int) -> dict[int, bool]:
    """Return the pids of the web processes (granian's workers, or the
    supervisor itself when it serves its one web worker as a thread) and of
    the digest worker and its helper, each with True for a web process."""
    found = {}
    for pid in ingest_bench._process_tree(root):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(command).decode(errors="replace")
        if "granian" in text:
            # granian's main process only supervises its workers.
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != root:
                found[pid] = True
        elif "fixtrail.cli worker" in text:
            found[pid] = False
    if not any(found.values()):
        found[root] = True
    return found


def _stored(env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-c", e2e._COUNT_EVENTS],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)["events"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=800.0)
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()

    server = start_server("stages", [])
    env, dsn = server.env, server.dsn
    try:
        envelopes = ingest_bench.capture_envelopes(dsn, ingest_bench.DEFAULT_ERRORS)
        total = WARM_UP_SECONDS + args.duration + 2
        count = int(args.rate * total * 1.05) + 100
        requests = ingest_bench.build_requests(envelopes, dsn, count)
        address = ("127.0.0.1", urlsplit(dsn).port or 80)
        results: dict = {}
        sender = threading.Thread(
            target=lambda: results.update(
                ingest_bench.run_phase(address, requests, 16, total, args.rate)
            )
        )
        sender.start()
        time.sleep(WARM_UP_SECONDS)
        pids = _server_processes(server.pid)
        before, started = _stored(env), time.monotonic()
        profiles = _profile(pids, args.duration, Path(server.data_dir))
        after, window = _stored(env), time.monotonic() - started
        sender.join()
    finally:
        server.stop()

    samples: Counter = Counter()
    for pid, web in pids.items():
        for stage, n in tally(profiles[pid], web).items():
            samples[(stage, web)] += n
    stored = after - before
    received = args.rate * window  # paced: what was sent in the window
    per_event = {}
    for (stage, web), n in sorted(samples.items()):
        name = f"{'web' if web else 'worker'}:{stage}"
        events = received if web else stored
        per_event[name] = round(n / SAMPLE_RATE / max(events, 1) * 1e6)
    for name, micros in sorted(per_event.items(), key=lambda kv: -kv[1]):
        print(f"{micros:7,} us  {name}", file=sys.stderr)
    print(
        json.dumps(
            {
                "rate": args.rate,
                "window_s": round(window, 1),
                "stored_in_window": stored,
                "p99_ms": round(results.get("p99_ms", 0.0), 1),
                "cpu_us_per_event": sum(per_event.values()),
                "by_stage_us": per_event,
            }
        )
    )


if __name__ == "__main__":
    main()
