"""The rollout commands against a real kube-apiserver (real server-side apply, managedFields,
conflicts, resourceVersion preconditions), the simulated Knative/kubelet controllers running
as its API clients. Real tier: needs etcd and kube-apiserver from scripts/setup.d."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inference_core.cli.main import app
from inference_core.rollout.client import KubernetesClient
from inference_sandbox.config import SandboxConfig
from inference_sandbox.controllers.remote import RemoteControllers
from tests.real.cluster import RealCluster
from tests.real.conftest import real_cluster  # noqa: F401  (the fixture)

pytestmark = pytest.mark.real
NS = "rollout-real"
SPEC = ("apiVersion: inference-stacks/v1alpha1\nkind: CustomInference\n"
        "metadata: {{name: app, project: rollout-real}}\nspec:\n  image: {image}\n"
        "  endpoint: {{port: 8080}}\n  general: {{initializationTimeout: 2m}}\n")
runner = CliRunner()


@pytest.fixture(scope="module")
def real(real_cluster: RealCluster) -> Iterator[tuple[RealCluster, KubernetesClient]]:  # noqa: F811
    """The namespace (with its default ServiceAccount: no controller-manager runs here) and
    the simulated controllers."""
    client = KubernetesClient.from_kubeconfig(str(real_cluster.kubeconfig))
    client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    client.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": "default", "namespace": NS}})
    with RemoteControllers(real_cluster.kubeconfig, SandboxConfig(speed=100.0)).running():
        yield real_cluster, client
    client.close()


def cli(cluster: RealCluster, *args: str) -> Any:
    return runner.invoke(app, [*args, "--kubeconfig", str(cluster.kubeconfig)])


def test_deploy_fail_rollback_deploy_on_a_real_api_server(
        real: tuple[RealCluster, KubernetesClient], tmp_path: Path) -> None:
    cluster, client = real
    spec = tmp_path / "app.yaml"
    spec.write_text(SPEC.format(image="ghcr.io/acme/app:1"))
    ok = cli(cluster, "deploy", str(spec), "--wait", "--timeout", "120", "-o", "json")
    assert ok.exit_code == 0, ok.stderr
    good = json.loads(ok.stdout)["readiness"]["revision"]

    spec.write_text(SPEC.format(image="ghcr.io/acme/does-not-exist:2"))
    bad = cli(cluster, "deploy", str(spec), "--wait", "--timeout", "120")
    # the kubelet's reason: ErrImagePull, or ImagePullBackOff once it retries
    assert bad.exit_code == 1
    assert "ErrImagePull" in bad.stderr or "ImagePullBackOff" in bad.stderr, bad.stderr

    back = cli(cluster, "rollback", "app", "-n", NS, "--timeout", "120", "-o", "json")
    assert back.exit_code == 0, back.stderr
    traffic = json.loads(back.stdout)["readiness"]["traffic"]
    assert [(t["revision"], t["percent"]) for t in traffic] == [(good, 100)]

    spec.write_text(SPEC.format(image="ghcr.io/acme/app:3"))
    again = cli(cluster, "deploy", str(spec), "--wait", "--timeout", "120", "-o", "json")
    assert again.exit_code == 0, again.stderr
    after = json.loads(again.stdout)["readiness"]
    # our pinned rollback traffic is released (SSA drops the field we stop sending); Knative's
    # webhook would default it to the latest revision, but no webhook runs on this server
    assert after["state"] == "ready" and after["revision"] not in (good, None)
    svc = client.get("serving.knative.dev/v1", "Service", "app", NS)
    assert svc is not None and "traffic" not in svc["spec"]
    rows = json.loads(cli(cluster, "history", "app", "-n", NS, "-o", "json").stdout)
    assert [(r["action"], r["status"]) for r in rows] == [
        ("deploy", "good"), ("deploy", "failed"), ("rollback", "good"), ("deploy", "good")]

    # real managedFields: another manager's field is refused without --force-conflicts
    client.apply({"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                  "metadata": {"name": "app", "namespace": NS,
                               "labels": {"inference-stacks.io/kind": "Other"}}},
                 field_manager="pulumi-kubernetes", force=True)
    refused = cli(cluster, "deploy", str(spec))
    assert refused.exit_code == 1
    assert "'pulumi-kubernetes' owns .metadata.labels.inference-stacks.io/kind" in refused.stderr
    assert "--force-conflicts" in refused.stderr


def test_delete_completes_through_the_garbage_collector(
        real: tuple[RealCluster, KubernetesClient], tmp_path: Path) -> None:
    """The serving object is deleted with foreground propagation: kube-apiserver adds the
    ``foregroundDeletion`` finalizer and only kube-controller-manager's garbage collector
    removes it, once the dependents (Configuration, Route, Revisions) are gone."""
    cluster, client = real
    spec = tmp_path / "doomed.yaml"
    spec.write_text(SPEC.format(image="ghcr.io/acme/app:1").replace("name: app", "name: doomed"))
    deployed = cli(cluster, "deploy", str(spec), "--wait", "--timeout", "120")
    assert deployed.exit_code == 0, deployed.stderr
    revisions = client.list("serving.knative.dev/v1", "Revision", NS,
                            label_selector="serving.knative.dev/service=doomed")
    assert revisions  # owned by the Service, through its Configuration
    gone = cli(cluster, "delete", "doomed", "-n", NS, "-o", "json")
    assert gone.exit_code == 0, gone.stderr
    assert f"Service {NS}/doomed" in json.loads(gone.stdout)["deleted"]
    assert client.get("serving.knative.dev/v1", "Service", "doomed", NS) is None
    assert client.get("v1", "ConfigMap", "doomed-history", NS) is None
