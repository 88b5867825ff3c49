"""The whole source-map path with real tools: esbuild builds the
TypeScript app minified, sentry-cli injects debug IDs and uploads to a
running Fixtrail, @sentry/node reports the error the bundle throws, and
digest shows the original .ts file, function and line."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.sdk.conftest import SUBPROCESS_TIMEOUT_SECONDS, FixtrailServer
from tests.symbols.conftest import APP_DIR, build_app, cli_runner

pytestmark = pytest.mark.live


def _line_of(path: Path, text: str) -> int:
    return next(
        i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line
    )


def _run_bundle(
    js_packages: Path, server: FixtrailServer, bundle: Path, release: str = ""
) -> str:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SENTRY_DSN": server.project["dsn"],
        "SDK_PACKAGE_JSON": str(js_packages.parent / "package.json"),
        "BUNDLE": str(bundle),
        "APP_RELEASE": release,
    }
    result = subprocess.run(
        ["node", str(APP_DIR / "run.cjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["flushed"] is True, server.log()
    return report["event_id"]


def _event(server: FixtrailServer, event_id: str) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/0/projects/acme/shop/events/{event_id}/",
        headers={"Authorization": f"Bearer {server.project['token']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _frames(event: dict, key: str = "stacktrace") -> list[dict]:
    (entry,) = [e for e in event["entries"] if e["type"] == "exception"]
    return entry["data"]["values"][-1][key]["frames"]


@pytest.fixture(scope="module")
def builds(esbuild, js_packages, fixtrail_server, tmp_path_factory):
    """Three builds with different minified output uploaded with
    sentry-cli, and one event from each through @sentry/node, digested."""
    root = tmp_path_factory.mktemp("builds")
    cli = cli_runner(
        fixtrail_server.url,
        fixtrail_server.project["token"],
        "acme",
        "shop",
        root / "home",
    )
    outputs = {}
    # (build label, release, inject debug IDs?): the last one is the older
    # flow, matched by release and URL only.
    for label, release, inject in (
        ("one", "", True),
        ("build-two-is-longer", "shop@2.0.0", True),
        ("three-release-files-only", "shop@3.0.0", False),
    ):
        bundle = build_app(esbuild, root / label / "dist", label, platform="node")
        if inject:
            injected = cli("sourcemaps", "inject", str(bundle.parent))
            assert injected.returncode == 0, injected.stderr
        args = ["sourcemaps", "upload", str(bundle.parent)]
        if release:
            args += ["--release", release]
        uploaded = cli(*args)
        assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
        event_id = _run_bundle(js_packages, fixtrail_server, bundle, release)
        outputs[label] = {"bundle": bundle, "event_id": event_id, "upload": uploaded}
    ids = [o["event_id"] for o in outputs.values()]
    digested = fixtrail_server.digest(ids)
    return outputs, digested


def test_it_uploads_with_sentry_cli(builds):
    outputs, _ = builds
    for output in outputs.values():
        assert "File processing complete" in output["upload"].stdout


def test_it_shows_the_original_typescript_frame(builds, fixtrail_server):
    outputs, _ = builds
    event = _event(fixtrail_server, outputs["one"]["event_id"])
    top = _frames(event)[-1]
    assert top["filename"].endswith("checkout.ts")
    assert top["function"] == "chargeCard"
    line = _line_of(APP_DIR / "checkout.ts", "card declined")
    assert top["lineNo"] == line
    assert "card declined" in dict(top["context"])[line]


def test_it_keeps_the_minified_frames_as_raw(builds, fixtrail_server):
    outputs, _ = builds
    event = _event(fixtrail_server, outputs["one"]["event_id"])
    raw_top = _frames(event, "rawStacktrace")[-1]
    assert raw_top["filename"].endswith("app.js")
    # The bundle is one minified line after sentry-cli's injected snippet.
    assert raw_top["lineNo"] <= 3
    assert raw_top["colNo"] > 100


def test_it_resolves_by_release_and_url_without_debug_ids(builds, fixtrail_server):
    outputs, _ = builds
    event = _event(fixtrail_server, outputs["three-release-files-only"]["event_id"])
    top = _frames(event)[-1]
    assert top["filename"].endswith("checkout.ts")
    assert top["function"] == "chargeCard"


def test_it_groups_builds_with_different_minified_output_into_one_issue(builds):
    outputs, digested = builds
    issues = [digested["issues"][o["event_id"]] for o in outputs.values()]
    assert digested["processing_errors"] == []
    assert {issue["issue_id"] for issue in issues} == {issues[0]["issue_id"]}
    assert max(issue["times_seen"] for issue in issues) == 3
    assert issues[0]["culprit"].endswith("checkout.ts in chargeCard")
