"""Build what sentry-cli sends, for the tests that talk to the API
directly: chunks and artifact bundles (zip + manifest.json, as
sentry-cli's SourceBundleWriter writes them), from the esbuild output in
tests/symbols/fixtures (built from tests/symbols/app, then
`sentry-cli sourcemaps inject`)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The debug ID sentry-cli injected into fixtures/app.js and app.js.map.
FIXTURE_DEBUG_ID = "928ac841-33bc-5efb-968e-cb9f0e6a8e63"


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def make_bundle(
    files: dict[str, tuple[str, bytes, dict[str, str]]] | None = None,
    attributes: dict[str, Any] | None = None,
) -> bytes:
    """Return a bundle zip; ``files`` maps URL to (type, content, headers)
    and defaults to the fixture's minified file and map."""
    if files is None:
        headers = {"debug-id": FIXTURE_DEBUG_ID}
        files = {
            "~/app.js": (
                "minified_source",
                (FIXTURES / "app.js").read_bytes(),
                {**headers, "sourcemap": "app.js.map"},
            ),
            "~/app.js.map": (
                "source_map",
                (FIXTURES / "app.js.map").read_bytes(),
                headers,
            ),
        }
    manifest: dict[str, Any] = {
        "files": {},
        "attributes": attributes or {"org": "acme"},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for url, (kind, content, headers) in files.items():
            path = "files/_/_/" + url.removeprefix("~/")
            archive.writestr(path, content)
            manifest["files"][path] = {"url": url, "type": kind, "headers": headers}
        archive.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


def chunk_files(data: bytes, size: int = 1024) -> list[tuple[str, bytes]]:
    """Return the (sha1, gzip body) of each chunk of ``data``."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [(sha1(p), gzip.compress(p)) for p in pieces]


def minified_position(text: str) -> tuple[int, int]:
    """Return the 1-based (line, column) in fixtures/app.js where ``text``
    starts, as a browser reports a frame there."""
    lines = (FIXTURES / "app.js").read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} is not in app.js")


def js_error(
    *, debug_id: str | None = FIXTURE_DEBUG_ID, release: str = "", **overrides: Any
) -> dict[str, Any]:
    """Return a browser-SDK-like error event thrown in fixtures/app.js."""
    line, column = minified_position("new Error(`card declined")
    url = "https://shop.example.com/static/app.js"
    event: dict[str, Any] = {
        "platform": "javascript",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "Error",
                    "value": "card declined for order A-1",
                    "stacktrace": {
                        "frames": [
                            {"filename": url, "function": "d", "lineno": line,
                             "colno": column, "in_app": True},
                        ]
                    },
                }
            ]
        },
    }  # fmt: skip
    if debug_id:
        event["debug_meta"] = {
            "images": [{"type": "sourcemap", "code_file": url, "debug_id": debug_id}]
        }
    if release:
        event["release"] = release
    event.update(overrides)
    return event
