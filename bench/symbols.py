"""Digest throughput of minified JavaScript events resolved through a
~1 MB source map, and the memory the parsed-map cache holds.

Run from the repository root::

    .venv/bin/python bench/symbols.py [--events 10000] [--functions 2500]

What it does:

1. generates a TypeScript app of FUNCTIONS functions, each throwing its own
   error, and bundles it with esbuild (minified, external source map; the
   pinned esbuild of the tests, installed into test-artifacts/ when
   missing);
2. stores the bundle as sentry-cli's assemble step would (debug ID on the
   minified file and the map) in a fresh project;
3. queues EVENTS browser-like events, each with five frames at real throw
   positions of the minified bundle and the bundle's debug ID;
4. times the worker's loop (``digest_stream``, with its forked helper)
   until the queue is empty and prints events/s, and events per CPU-second
   of this process and its helper (the figure that holds on a busy shared
   machine);
5. digests one more batch in this process and prints the parsed-map cache's
   size against its bound, and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.digest import (  # noqa: E402
    BATCH,
    _cpu_seconds,
    _drain,
    _make_project,
    _setup_environment,
)

ESBUILD_VERSION = "0.28.2"
ESBUILD_DIR = ROOT / "test-artifacts" / "esbuild"
DEBUG_ID = "5b3e1c7a-9d2f-4e8b-a1c0-3f6e2d9b8a71"
FRAMES_PER_EVENT = 5


def _esbuild() -> Path:
    binary = ESBUILD_DIR / "node_modules" / ".bin" / "esbuild"
    if not binary.exists():
        ESBUILD_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"esbuild@{ESBUILD_VERSION}"],
            cwd=ESBUILD_DIR,
            check=True,
        )
    return binary


def _build(functions: int, directory: Path) -> tuple[bytes, bytes]:
    lines = ["interface Order {\n  id: string;\n  total: number;\n}\n"]
    for n in range(functions):
        lines.append(
            f"export function handleStep{n}(order: Order): number {{\n"
            f"  const limit: number = {n} * 3 + order.total;\n"
            f"  if (order.id.length > limit) {{\n"
            f"    return limit;\n"
            f"  }}\n"
            f'  throw new Error("step {n} failed for " + order.id + " at " + limit);\n'
            f"}}\n"
        )
    (directory / "app.ts").write_text("\n".join(lines))
    outfile = directory / "dist" / "app.js"
    subprocess.run(
        [str(_esbuild()), str(directory / "app.ts"), "--bundle", "--minify",
         "--sourcemap", "--format=iife", "--global-name=shop", f"--outfile={outfile}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return outfile.read_bytes(), outfile.with_suffix(".js.map").read_bytes()


def _store(project, minified: bytes, source_map: bytes) -> None:
    from fixtrail.symbols import storage
    from fixtrail.symbols.assemble import assemble_bundle

    headers = {"debug-id": DEBUG_ID}
    manifest = {"files": {
        "files/_/_/app.js": {"url": "~/app.js", "type": "minified_source",
                             "headers": {**headers, "sourcemap": "app.js.map"}},
        "files/_/_/app.js.map": {"url": "~/app.js.map", "type": "source_map",
                                 "headers": headers},
    }}  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("files/_/_/app.js", minified)
        archive.writestr("files/_/_/app.js.map", source_map)
        archive.writestr("manifest.json", json.dumps(manifest))
    data = out.getvalue()
    chunk = storage.sha1_hex(data)
    storage.save_chunk(chunk, data)
    answer = assemble_bundle(project.organization, chunk, [chunk], [project.slug])
    if answer.state != "ok":
        raise SystemExit(f"assemble failed: {answer.detail}")


def _events(minified: bytes, count: int, errors: int) -> list[dict]:
    text = minified.decode()
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    positions = []
    for match in re.finditer(r"new Error\(", text):
        line = next(i for i in range(len(line_starts) - 1, -1, -1)
                    if line_starts[i] <= match.start())  # fmt: skip
        positions.append((line + 1, match.start() - line_starts[line] + 1))
    url = "https://shop.example.com/static/app.js"
    random.seed(7)
    events = []
    for n in range(count):
        base = (n % errors) * FRAMES_PER_EVENT % len(positions)
        frames = [
            {"filename": url, "function": "r", "lineno": line, "colno": column,
             "in_app": True}
            for line, column in positions[base : base + FRAMES_PER_EVENT]
        ]  # fmt: skip
        events.append({
            "platform": "javascript",
            "exception": {"values": [{"type": "Error", "value": f"failed {n}",
                                      "stacktrace": {"frames": frames}}]},
            "debug_meta": {"images": [{"type": "sourcemap", "code_file": url,
                                       "debug_id": DEBUG_ID}]},
            "release": "shop@1.0",
        })  # fmt: skip
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--functions", type=int, default=2_500)
    parser.add_argument("--errors", type=int, default=200)
    parser.add_argument(
        "--no-maps", action="store_true", help="upload nothing: the baseline"
    )
    args = parser.parse_args()

    _setup_environment()
    import django

    django.setup()
    from fixtrail.digest.batches import digest_messages
    from fixtrail.events.models import Event
    from fixtrail.queue import open_queue
    from fixtrail.symbols.cache import parsed
    from tests.digest.queueing import queue_payloads

    project, _ = _make_project()
    with tempfile.TemporaryDirectory() as directory:
        minified, source_map = _build(args.functions, Path(directory))
    print(
        f"minified {len(minified) / 1e6:.2f} MB, "
        f"source map {len(source_map) / 1e6:.2f} MB"
    )
    if not args.no_maps:
        _store(project, minified, source_map)
    events = _events(minified, args.events, args.errors)
    for start in range(0, len(events), 5_000):
        queue_payloads(project, events[start : start + 5_000])
    print(f"queued {len(events)} events")

    started, cpu = time.perf_counter(), _cpu_seconds()
    items, _, prepare_s, write_s = _drain()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    stored = Event.objects.filter(project=project).count()
    print(
        f"digested {items} events in {elapsed:.1f} s: {items / elapsed:,.0f} events/s "
        f"(prepare {prepare_s:.1f} s, write {write_s:.1f} s); stored {stored}"
    )
    # On a shared machine the wall clock measures the neighbours too; CPU
    # seconds of this process and its helper measure digest alone.
    print(f"CPU: {cpu:.1f} s, {items / cpu:,.0f} events per CPU-second")
    sample = Event.objects.filter(project=project).first().get_data()
    top = sample["exception"]["values"][0]["stacktrace"]["frames"][-1]
    print(
        f"sample frame: {top.get('filename')}:{top.get('lineno')} "
        f"in {top.get('function')}"
    )

    queue_payloads(
        project, [dict(e, event_id=uuid.uuid4().hex) for e in events[:BATCH]]
    )
    queue = open_queue(django.conf.settings.QUEUE_URL)
    try:
        messages = queue.read("bench-cache", BATCH)
        digest_messages(messages)
        queue.ack([m.id for m in messages])
    finally:
        queue.close()
    stats = parsed.stats()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"parsed-map cache: {stats['entries']} entries, "
        f"{stats['charged_bytes'] / 1e6:.1f} MB charged of "
        f"{stats['max_bytes'] / 1e6:.0f} MB bound ({stats['misses']} parses, "
        f"{stats['hits']} hits); peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
