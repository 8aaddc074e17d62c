"""Capacity preflight against the local Kubernetes API server (queues + running pods)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from inference_core.errors import InsufficientQuota
from inference_core.preflight import (
    GpuDemand,
    KubeClusterReader,
    check_capacity,
    preflight_spec,
    read_queue_state,
)
from inference_core.profile import load_profile
from inference_core.spec import parse_spec
from inference_sandbox import Sandbox, SandboxConfig
from inference_sandbox.config import KaiQueue
from inference_sandbox.hub import LARGE_70B, TOKEN_GRANTED, HubEmulator

NS = "team-a"


@pytest.fixture
def cluster() -> Iterator[tuple[Sandbox, Any]]:
    cfg = SandboxConfig(queues=[KaiQueue("team-a", gpu_quota=16, gpu_limit=0),
                                KaiQueue("team-b", gpu_quota=8, gpu_limit=-1)],
                        namespaces=[NS], speed=50)
    with Sandbox(cfg).running() as sb:
        api = config.new_client_from_config(config_file=sb.kubeconfig_path, context="sandbox")
        try:
            yield sb, api
        finally:
            api.close()


def make_pod(api: Any, name: str, *, gpus: int | None = None, queue: str = "team-a",
             labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> None:
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}
    client.CoreV1Api(api).create_namespaced_pod(NS, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {},
                     "labels": {"kai.scheduler/queue": queue, **(labels or {})}},
        "spec": {"containers": [{"name": "main", "image": "vllm/vllm-openai:v0.11.0",
                                 "resources": resources}]},
    })


def test_queue_state_from_the_api_server(cluster: tuple[Sandbox, Any]) -> None:
    sb, api = cluster
    make_pod(api, "serve-0", gpus=4, labels={"priorityClassName": "inference"})
    make_pod(api, "train-0", gpus=8, labels={"priorityClassName": "train"})
    make_pod(api, "frac-0", annotations={"gpu-fraction": "0.5", "gpu-fraction-num-devices": "2"},
             labels={"priorityClassName": "inference"})
    make_pod(api, "other-queue", gpus=8, queue="team-b")
    state = read_queue_state(KubeClusterReader(api), "team-a", NS)
    assert (state.quota_gpus, state.limit_gpus) == (16, 0)
    assert (state.used_gpus, state.used_non_preemptible_gpus) == (13, 5)
    paths = [r.path for r in sb.requests]
    assert "/apis/scheduling.run.ai/v2/queues/team-a" in paths
    assert f"/api/v1/namespaces/{NS}/pods" in paths


def test_update_refused_then_rolled_in_place(cluster: tuple[Sandbox, Any]) -> None:
    _, api = cluster
    for i in range(2):
        make_pod(api, f"llama-{i}", gpus=8, labels={"priorityClassName": "inference"})
    state = read_queue_state(KubeClusterReader(api), "team-a", NS)
    demand = GpuDemand("llama", replica_gpus=8, target_replicas=2, current_replicas=2,
                       max_surge=1, non_preemptible=True)
    with pytest.raises(InsufficientQuota) as err:
        check_capacity(state, demand)
    msg = str(err.value)
    assert ("queue 'team-a': the update of 'llama' needs 24 GPUs at its peak (16 running + 8 "
            "surge), but only 16 in-quota GPUs are available to it (quota 16, limit none beyond "
            "quota, 16 used by the project's pods, 16 of them by this workload); short by 8") in msg
    report = check_capacity(state, demand, allow_capacity_dip=True)
    assert report.suggested_rollout == {"maxSurge": 0, "maxUnavailable": 1}


def test_missing_queue(cluster: tuple[Sandbox, Any]) -> None:
    _, api = cluster
    with pytest.raises(InsufficientQuota, match="queue 'ghost' does not exist"):
        read_queue_state(KubeClusterReader(api), "ghost", NS)


def test_preflight_spec_with_secret_token_and_queue(
    cluster: tuple[Sandbox, Any], hub: HubEmulator
) -> None:
    _, api = cluster
    client.CoreV1Api(api).create_namespaced_secret(NS, {
        "metadata": {"name": "hf"}, "stringData": {"HF_TOKEN": TOKEN_GRANTED}})
    make_pod(api, "batch", gpus=4, labels={"priorityClassName": "train"})
    doc = {"apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
           "metadata": {"name": "big", "project": NS},
           "spec": {"model": {"id": LARGE_70B, "tokenSecret": "hf"},
                    "leader": {"compute": {"gpuDevices": 8}},
                    "workers": {"count": 1, "compute": {"gpuDevices": 8}}}}
    report = preflight_spec(parse_spec(doc), load_profile("kai"),
                            cluster=KubeClusterReader(api))
    assert report.model is not None and report.model.commit_sha == hub.repos[LARGE_70B].refs["main"]
    assert all(r.authenticated for r in hub.requests)
    assert report.capacity is not None and report.capacity.peak_gpus == 16
    # the 4 GPUs of the preemptible batch pod can be preempted for this non-preemptible LWS
    assert any("4 GPU(s) of preemptible workloads" in n for n in report.capacity.notes)
