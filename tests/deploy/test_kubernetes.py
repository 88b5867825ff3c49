"""The Kubernetes manifests: every overlay renders with kustomize and
validates against the Kubernetes schemas; the Dockerfile passes hadolint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO_ROOT

OVERLAYS = ["small", "production"]
KUBERNETES_VERSION = "1.32.0"


def _render(overlay: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with kustomize) is not installed")
    path = REPO_ROOT / "deploy" / "kubernetes" / "overlays" / overlay
    done = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_validates_against_the_schemas(overlay):
    docs = _render(overlay)
    assert len(docs) == 11
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_pods_are_probed_on_ready_and_health(overlay):
    web = _by_kind(_render(overlay), "Deployment")["fixtrail-web"]
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/_ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/_health"
    assert container["args"][0] == "web"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_with_secrets_from_a_secret(overlay):
    docs = _render(overlay)
    pods = [
        d["spec"]["template"]["spec"] for d in _by_kind(docs, "Deployment").values()
    ]
    pods.append(_by_kind(docs, "Job")["fixtrail-migrate"]["spec"]["template"]["spec"])
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        ref = env["FIXTRAIL_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "fixtrail-secrets", "key": "database-url"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_and_workers_scale_and_keep_a_disruption_budget(overlay):
    docs = _render(overlay)
    hpas = _by_kind(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {
        "fixtrail-web",
        "fixtrail-worker",
    }
    assert set(_by_kind(docs, "PodDisruptionBudget")) == {
        "fixtrail-web",
        "fixtrail-worker",
    }
    job = _by_kind(docs, "Job")["fixtrail-migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][:2] == [
        "manage",
        "migrate",
    ]


def test_production_serves_tls_with_more_replicas_than_small():
    small = _by_kind(_render("small"), "Deployment")["fixtrail-web"]
    production_docs = _render("production")
    production = _by_kind(production_docs, "Deployment")["fixtrail-web"]
    assert small["spec"]["replicas"] == 1
    assert production["spec"]["replicas"] == 3
    ingress = _by_kind(production_docs, "Ingress")["fixtrail"]
    assert ingress["spec"]["tls"][0]["secretName"] == "fixtrail-tls"


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run(
        [str(hadolint), str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_a_non_root_user():
    lines = (REPO_ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users == ["10001"]
    assert sum(line.startswith("FROM ") for line in lines) == 2
