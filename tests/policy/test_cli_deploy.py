"""infstack deploy/diff apply --policy/--assets (and the profile's lists) like validate does,
against the sandbox API server; a violation is refused before any API call."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from inference_core.cli.main import app
from inference_core.profile import load_profile
from inference_sandbox.config import KaiQueue
from tests.helpers import REPO
from tests.policy.conftest import Write

runner = CliRunner()
EX = REPO / "examples/policies"
KSVC = ("serving.knative.dev/v1", "Service")


@pytest.fixture
def cluster(sandbox_factory: Any) -> Any:
    return sandbox_factory(namespaces=["team-a"], queues=[KaiQueue("team-a")],
                           features=dict(load_profile("kai").knative.features))


def _pod(sandbox: Any, name: str) -> dict[str, Any]:
    svc = sandbox.store.get(KSVC, "team-a", name)
    assert svc is not None
    return svc["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_deploy_with_policy_and_asset_options(cluster: Any) -> None:
    result = runner.invoke(app, [
        "deploy", str(EX / "chat.yaml"), "--name", "triton-resnet", "-p", "kai",
        "--policy", str(EX / "policies"), "--assets", str(EX / "assets"),
        "--kubeconfig", cluster.kubeconfig_path])
    assert result.exit_code == 0, result.stderr
    pod = _pod(cluster, "triton-resnet")
    assert pod["containers"][0]["image"] == "nvcr.io/nvidia/tritonserver:24.08-py3"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"triton-model-repo", "team-a-datasets"}


def test_deploy_with_the_profile_lists_and_a_refusal(cluster: Any, write: Write) -> None:
    profile = str(EX / "cluster-profile.yaml")
    diff = runner.invoke(app, ["diff", str(EX / "chat.yaml"), "--name", "triton-resnet",
                               "-p", profile, "--kubeconfig", cluster.kubeconfig_path])
    assert diff.exit_code == 0, diff.stderr
    assert "tritonserver" in diff.stdout
    greedy = write("greedy.yaml", """
        kind: CustomInference
        metadata: {name: greedy, project: team-a}
        spec: {environment: triton-http, compute: {asset: one-a100, gpuDevices: 4}}
        """)
    refused = runner.invoke(app, ["deploy", str(greedy), "-p", profile,
                                  "--kubeconfig", cluster.kubeconfig_path])
    assert refused.exit_code == 1
    assert "spec.compute.gpuDevices: policy team-a-inference: must be <= 2 (got 4)" in \
        refused.stderr
    assert cluster.store.get(KSVC, "team-a", "greedy") is None
