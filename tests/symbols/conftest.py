"""Real build tools for the symbols tests: esbuild from npm builds the
TypeScript app in tests/symbols/app, minified with source maps, and the
real sentry-cli injects debug IDs and uploads.

esbuild is installed at test time into test-artifacts/esbuild (kept between
runs); the tests that need it skip when npm cannot reach its registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# The real-SDK server and npm packages, shared with tests/sdk.
from tests.sdk.conftest import fixtrail_server, js_packages  # noqa: F401

ESBUILD_VERSION = "0.28.2"
ESBUILD_DIR = REPO_ROOT / "test-artifacts" / "esbuild"
APP_DIR = Path(__file__).resolve().parent / "app"
SENTRY_CLI = REPO_ROOT / ".venv" / "bin" / "sentry-cli"
# npm install of esbuild takes a few seconds here; the margin covers a slow
# registry mirror.
NPM_TIMEOUT_SECONDS = 180
TOOL_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def esbuild() -> Path:
    """Return the esbuild binary, installing the pinned version if needed."""
    binary = ESBUILD_DIR / "node_modules" / ".bin" / "esbuild"
    if binary.exists():
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if version == ESBUILD_VERSION:
            return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    ESBUILD_DIR.mkdir(parents=True, exist_ok=True)
    (ESBUILD_DIR / "package.json").write_text(
        json.dumps({"private": True, "dependencies": {"esbuild": ESBUILD_VERSION}})
    )
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", f"esbuild@{ESBUILD_VERSION}"],
        cwd=ESBUILD_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        pytest.skip(f"npm could not install esbuild: {result.stderr[-500:]}")
    return binary


def build_app(
    esbuild: Path,
    out_dir: Path,
    label: str,
    *,
    platform: str,
    node_modules: Path | None = None,
) -> Path:
    """Bundle the app minified with an external source map into
    ``out_dir``: index.ts for Node, browser.ts (with @sentry/browser from
    ``node_modules``) for the browser. ``label`` changes the minified output
    (and nothing about the error). Return the bundle's path."""
    outfile = out_dir / "app.js"
    entry = "index.ts" if platform == "node" else "browser.ts"
    args = [
        str(esbuild),
        str(APP_DIR / entry),
        "--bundle",
        "--minify",
        "--sourcemap",
        f"--outfile={outfile}",
        f"--define:BUILD_LABEL={json.dumps(label)}",
    ]
    if platform == "node":
        args += ["--platform=node", "--format=cjs"]
    else:
        args += ["--platform=browser", "--format=iife"]
    env = {**os.environ, "NODE_PATH": str(node_modules or "")}
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return outfile


def cli_runner(url: str, token: str, org: str, project: str, home: Path) -> Callable:
    """Return run(*args) -> CompletedProcess for the real sentry-cli."""
    if not SENTRY_CLI.exists():
        pytest.skip("sentry-cli is not installed in .venv")
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SENTRY_URL": url,
        "SENTRY_AUTH_TOKEN": token,
        "SENTRY_ORG": org,
        "SENTRY_PROJECT": project,
        "SENTRY_LOAD_DOTENV": "0",
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SENTRY_CLI), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )

    return run
