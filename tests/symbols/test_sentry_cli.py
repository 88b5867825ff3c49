"""The real sentry-cli (3.x, from PyPI) uploading to a live Fixtrail:
source maps with and without a release, ProGuard mappings, and an upload
the server refuses, with its reason. (sentry-cli 3 has no `releases files`
command: a release's files are uploaded by `sourcemaps upload --release`,
and listed or deleted through the release-files API.)"""

from __future__ import annotations

import shutil

import pytest

from fixtrail.symbols.models import Artifact, Upload
from tests.api.conftest import issue_token
from tests.symbols.bundles import FIXTURE_DEBUG_ID, FIXTURES
from tests.symbols.conftest import cli_runner
from tests.symbols.test_assemble import PROGUARD

pytestmark = pytest.mark.live


@pytest.fixture
def cli(live_server, alice, project, tmp_path):
    token = issue_token(alice, ["project:releases", "org:read", "project:read"])
    return cli_runner(live_server.url, token, "acme", "backend", tmp_path / "home")


@pytest.fixture
def dist_dir(tmp_path):
    target = tmp_path / "dist"
    target.mkdir()
    for name in ("app.js", "app.js.map"):
        shutil.copy(FIXTURES / name, target / name)
    return target


def test_it_uploads_injected_source_maps(cli, dist_dir):
    result = cli("sourcemaps", "upload", str(dist_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "File processing complete" in result.stdout
    rows = Artifact.objects.order_by("url")
    assert [(a.url, a.debug_id, a.release) for a in rows] == [
        ("~/app.js", FIXTURE_DEBUG_ID, ""),
        ("~/app.js.map", FIXTURE_DEBUG_ID, ""),
    ]


def test_it_uploads_source_maps_under_a_release_and_dist(cli, dist_dir):
    result = cli(
        "sourcemaps", "upload", "--release", "shop@1.0", "--dist", "web",
        "--url-prefix", "~/static", str(dist_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = Artifact.objects.order_by("url")
    assert [(a.url, a.release, a.dist) for a in rows] == [
        ("~/static/app.js", "shop@1.0", "web"),
        ("~/static/app.js.map", "shop@1.0", "web"),
    ]


def test_it_reports_the_servers_refusal(cli, dist_dir, settings):
    # sentry-cli checks maps itself before uploading; the server's own
    # refusals (here: over the size limit) reach the user as its detail.
    settings.FIXTRAIL_MAX_ARTIFACT_BYTES = 1000
    result = cli("sourcemaps", "upload", str(dist_dir))
    assert result.returncode != 0
    assert (
        "Failed to process uploaded files: File too large: the limit is 1000 bytes."
        in result.stderr
    )
    assert Artifact.objects.count() == 0
    assert Upload.objects.get().state == "error"


def test_it_uploads_a_proguard_mapping(cli, tmp_path):
    mapping = tmp_path / "mapping.txt"
    mapping.write_bytes(PROGUARD)
    result = cli("proguard", "upload", str(mapping))
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = Artifact.objects.get()
    assert artifact.kind == "proguard"
    assert artifact.debug_id in result.stdout + result.stderr or artifact.size == len(
        PROGUARD
    )
