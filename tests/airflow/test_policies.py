"""Airflow front door (dag.test against the local API server): the operators apply the
policies and assets the profile lists, and refuse a violation before any API call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core.profile import load_profile
from inference_sandbox.config import KaiQueue
from tests.airflow import dagrun
from tests.airflow.conftest import E2E_DAGS, REPO, connection_env

KSVC = ("serving.knative.dev/v1", "Service")
PROFILE = str(REPO / "examples/policies/cluster-profile.yaml")


@pytest.fixture
def cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Any]:
    features = dict(load_profile(PROFILE).knative.features)  # the cluster the profile says
    sb = sandbox_factory(namespaces=["team-a"], features=features, queues=[KaiQueue("team-a")])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    yield sb


def _run(gpus: int) -> dagrun.RunResult:
    return dagrun.run_dag(dagrun.load_dag(Path(E2E_DAGS), "e2e_policies"), {"gpus": gpus})


def test_deploy_applies_the_profile_policies_and_assets(cluster: Any) -> None:
    result = _run(1)
    assert result.task_states == {"deploy": "success"}, result.errors
    ksvc = cluster.store.get(KSVC, "team-a", "triton-policy")
    assert ksvc is not None
    pod = ksvc["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "nvcr.io/nvidia/tritonserver:24.08-py3"  # the environment
    assert container["resources"]["limits"]["nvidia.com/gpu"] in (1, "1")  # compute asset
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"triton-model-repo", "team-a-datasets"}  # asset + imposed by policy
    assert ksvc["metadata"]["labels"]["cost-center"] == "ml-team-a"  # policy default


def test_a_policy_violation_fails_the_task_before_any_api_call(cluster: Any) -> None:
    result = _run(4)
    assert result.task_states == {"deploy": "failed"}
    assert "spec.compute.gpuDevices: policy team-a-inference: must be <= 2 (got 4)" in \
        result.errors["deploy"].message
    assert cluster.store.get(KSVC, "team-a", "triton-policy") is None
