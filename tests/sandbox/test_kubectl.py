"""kubectl against the sandbox, as printed by ``inference-sandbox up``: TLS + token kubeconfig,
tables, OpenAPI validation, explain, diff, server dry run, protobuf creates, access reviews,
watch and deletion. Two clients: the kubectl of the pinned k8s.io/kubernetes
(scripts/setup.d/10-kube-tools.sh) and an older one from the k8s.io/kubectl module pinned in
tools/kube-old (scripts/setup.d/11-kubectl-old.sh)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from inference_sandbox import Sandbox, SandboxConfig
from inference_sandbox.testing import wait_for
from tests.helpers import REPO, require_real, require_shared
from tests.real.tools import cache_dir, find_tool, module_version

pytestmark = pytest.mark.real

KSVC = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"template": {
            "metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1"}},
            "spec": {"containers": [{"image": "ghcr.io/acme/server:1.0",
                                     "ports": [{"containerPort": 8000}]}]}}}}


def _old_kubectl() -> Path | None:
    version = module_version("k8s.io/kubectl", REPO / "tools" / "kube-old" / "go.mod")
    path = cache_dir() / f"kubectl-old-{version}"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(scope="module", params=["kubectl", "kubectl-old"])
def kubectl_bin(request: pytest.FixtureRequest) -> Path:
    found = find_tool("kubectl") if request.param == "kubectl" else _old_kubectl()
    require_real(request.param, found)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def sb(kubectl_bin: Path) -> Iterator[Sandbox]:
    require_shared()
    with Sandbox(SandboxConfig(speed=50, namespaces=("team-a",))).running() as box:
        yield box


def kubectl(kubectl_bin: Path, sb: Sandbox, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run kubectl with the sandbox's kubeconfig (as ``export KUBECONFIG=...`` would)."""
    env = {**os.environ, "KUBECONFIG": sb.kubeconfig_path, "HOME": str(
        Path(sb.kubeconfig_path).parent)}
    done = subprocess.run([str(kubectl_bin), *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=180)
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


def _manifest(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False)


def _header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_get_prints_server_side_tables(kubectl_bin, sb):
    nodes = kubectl(kubectl_bin, sb, "get", "nodes").stdout
    assert _header(nodes) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "gpu-node-0   Ready" in nodes
    wide = kubectl(kubectl_bin, sb, "get", "nodes", "-o", "wide").stdout
    assert "CONTAINER-RUNTIME" in _header(wide)
    namespaces = kubectl(kubectl_bin, sb, "get", "ns").stdout
    assert _header(namespaces) == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["team-a", "Active"] for line in namespaces.splitlines())


def test_typed_creates_and_access_reviews(kubectl_bin, sb):
    kubectl(kubectl_bin, sb, "create", "namespace", "team-b")
    kubectl(kubectl_bin, sb, "create", "secret", "generic", "hf-credentials", "-n", "team-b",
            "--from-literal=token=hf_x")
    kubectl(kubectl_bin, sb, "create", "configmap", "settings", "-n", "team-b",
            "--from-literal=a=1", "--from-literal=b=2")
    secrets = kubectl(kubectl_bin, sb, "get", "secrets", "-n", "team-b").stdout
    assert _header(secrets) == ["NAME", "TYPE", "DATA", "AGE"]
    assert sb.store.get(("v1", "Secret"), "team-b", "hf-credentials")["data"] == {
        "token": "aGZfeA=="}
    can = kubectl(kubectl_bin, sb, "auth", "can-i", "create", "pods", "-n", "team-b")
    assert can.stdout.strip() == "yes"
    whoami = kubectl(kubectl_bin, sb, "auth", "whoami").stdout
    assert "sandbox-user" in whoami
    missing = kubectl(kubectl_bin, sb, "create", "configmap", "x", "-n", "nowhere", check=False)
    assert missing.returncode != 0 and 'namespaces "nowhere" not found' in missing.stderr
    kubectl(kubectl_bin, sb, "delete", "namespace", "team-b", "--timeout=120s")
    assert not sb.store.namespace_exists("team-b")


def test_apply_validates_diffs_and_dry_runs(kubectl_bin, sb):
    bogus = {**KSVC, "spec": {**KSVC["spec"], "bogus": True}}
    refused = kubectl(kubectl_bin, sb, "apply", "-f", "-", stdin=_manifest(bogus), check=False)
    assert refused.returncode != 0
    assert 'unknown field "spec.bogus"' in refused.stderr
    dry = kubectl(kubectl_bin, sb, "apply", "-f", "-", "--dry-run=server",
                  stdin=_manifest(KSVC))
    assert "(server dry run)" in dry.stdout
    assert sb.store.get(("serving.knative.dev/v1", "Service"), "team-a", "web") is None
    kubectl(kubectl_bin, sb, "apply", "-f", "-", stdin=_manifest(KSVC))
    same = kubectl(kubectl_bin, sb, "diff", "-f", "-", stdin=_manifest(KSVC), check=False)
    assert same.returncode == 0, same.stderr
    changed = yaml.safe_load(_manifest(KSVC))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/acme/server:2.0"
    diff = kubectl(kubectl_bin, sb, "diff", "-f", "-", stdin=_manifest(changed), check=False)
    assert diff.returncode == 1, diff.stderr
    changes = [line for line in diff.stdout.splitlines()
               if line[:1] in "+-" and "image: ghcr.io/acme/server" in line]
    assert [(c[0], c.split("image: ")[1]) for c in changes] == [
        ("-", "ghcr.io/acme/server:1.0"), ("+", "ghcr.io/acme/server:2.0")]
    conflict = kubectl(kubectl_bin, sb, "apply", "--server-side", "--field-manager=ops", "-f",
                       "-", stdin=_manifest(changed), check=False)
    assert conflict.returncode != 0
    assert 'conflict with "kubectl-client-side-apply"' in conflict.stderr
    ssa = kubectl(kubectl_bin, sb, "apply", "--server-side", "--field-manager=ops",
                  "--force-conflicts", "-f", "-", stdin=_manifest(changed))
    assert "serverside-applied" in ssa.stdout


def test_explain_reads_the_openapi_documents(kubectl_bin, sb):
    ksvc = kubectl(kubectl_bin, sb, "explain", "ksvc.spec.template").stdout
    assert "GROUP:      serving.knative.dev" in ksvc and "FIELD: template <Object>" in ksvc
    image = kubectl(kubectl_bin, sb, "explain", "pods.spec.containers.image").stdout
    assert "Container image name" in image
    lws = kubectl(kubectl_bin, sb, "explain", "lws.spec.leaderWorkerTemplate.size").stdout
    assert "FIELD: size <integer>" in lws


def test_knative_tables_and_watch(kubectl_bin, sb):
    env = {**os.environ, "KUBECONFIG": sb.kubeconfig_path}
    watch = subprocess.Popen([str(kubectl_bin), "get", "ksvc", "-n", "team-a", "-w",
                              "--request-timeout=0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(watch.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        manifest = yaml.safe_load(_manifest(KSVC))
        manifest["metadata"]["name"] = "watched"
        kubectl(kubectl_bin, sb, "apply", "-f", "-", stdin=_manifest(manifest))
        wait_for(lambda: any(line.split()[:1] == ["watched"] and " True " in line
                             for line in list(lines)), timeout=90,
                 what="kubectl get -w to print the service Ready")
    finally:
        watch.terminate()
        watch.wait(timeout=30)
    assert lines[0].split() == ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY",
                                "REASON"]
    revisions = kubectl(kubectl_bin, sb, "get", "rev", "-n", "team-a").stdout
    assert _header(revisions)[:3] == ["NAME", "CONFIG", "NAME"]
    pods = kubectl(kubectl_bin, sb, "get", "pods", "-n", "team-a").stdout
    assert _header(pods) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_delete_honours_grace_and_cascades(kubectl_bin, sb):
    manifest = yaml.safe_load(_manifest(KSVC))
    manifest["metadata"]["name"] = "doomed"
    kubectl(kubectl_bin, sb, "apply", "-f", "-", stdin=_manifest(manifest))
    wait_for(lambda: [p for p in sb.store.list(("v1", "Pod"), "team-a")
                      if p["metadata"]["name"].startswith("doomed")], timeout=90,
             what="a pod of the service")
    kubectl(kubectl_bin, sb, "delete", "ksvc", "doomed", "-n", "team-a", "--wait=true",
            "--timeout=120s")
    wait_for(lambda: not [p for p in sb.store.list(("v1", "Pod"), "team-a")
                          if p["metadata"]["name"].startswith("doomed")], timeout=90,
             what="the service's pods to be collected")
    assert not [r for r in sb.store.list(("serving.knative.dev/v1", "Revision"), "team-a")
                if r["metadata"]["name"].startswith("doomed")]
