"""preflight_spec: spec + profile → model and capacity checks."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import InsufficientQuota, ModelAccessDenied, ModelDoesNotFit
from inference_core.preflight import preflight_spec
from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import parse_spec
from inference_sandbox.hub import (
    GATED_8B,
    LARGE_70B,
    TOKEN_GRANTED,
    TOKEN_NO_ACCESS,
    HubEmulator,
)

KAI = load_profile("kai")


def hf_doc(model: dict[str, Any], *, gpus: int = 1, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
            "metadata": {"name": "chat", "project": "team-a"},
            "spec": {"model": model, "compute": {"gpuDevices": gpus}, **spec}}


def lws_doc(model: str, *, workers: int = 1, gpus: int = 8, max_surge: int = 0) -> dict[str, Any]:
    compute = {"gpuDevices": gpus}
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
            "metadata": {"name": "big", "project": "team-a"},
            "spec": {"model": {"id": model}, "leader": {"compute": compute},
                     "workers": {"count": workers, "compute": compute},
                     "rollout": {"maxSurge": max_surge, "maxUnavailable": 1}}}


class Reader:
    """A ClusterReader double holding one queue, pods and a Secret."""

    def __init__(self, quota: float, pods: list[dict[str, Any]] | None = None,
                 secrets: dict[str, str] | None = None) -> None:
        self.queue = {"spec": {"resources": {"gpu": {"quota": quota, "limit": 0}}}}
        self.pods = pods or []
        self.secrets = secrets or {}

    def get_queue(self, name: str) -> dict[str, Any] | None:
        return self.queue if name == "team-a" else None

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        if not label_selector:
            return self.pods
        key, _, value = label_selector.partition("=")
        return [p for p in self.pods if p["metadata"]["labels"].get(key) == value]

    def get_secret_value(self, namespace: str, name: str, key: str) -> str | None:
        return self.secrets.get(name) if key == "HF_TOKEN" else None


def running_pod(workload: str, gpus: int) -> dict[str, Any]:
    return {"metadata": {"labels": {"kai.scheduler/queue": "team-a",
                                    "inference-stacks.io/workload": workload,
                                    "serving.knative.dev/service": workload}},
            "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": gpus}}}]},
            "status": {"phase": "Running"}}


def test_hf_spec_pins_commit_and_fills_parallelism(hub: HubEmulator) -> None:
    spec = parse_spec(hf_doc({"id": GATED_8B, "token": TOKEN_GRANTED}, vllm={"maxModelLen": 8192}))
    report = preflight_spec(spec, KAI)
    assert report.model is not None
    assert report.vllm_args() == ["--revision", hub.repos[GATED_8B].refs["main"],
                                  "--tensor-parallel-size", "1", "--pipeline-parallel-size", "1"]
    assert report.model.available_bytes_per_gpu == int(80 * 10**9 * 0.9)
    assert report.capacity is None  # no cluster reader given


def test_token_secret_is_read_through_the_reader(hub: HubEmulator) -> None:
    spec = parse_spec(hf_doc({"id": GATED_8B, "tokenSecret": "hf"}, vllm={"maxModelLen": 8192}))
    with pytest.raises(ModelAccessDenied, match="HTTP 403 GatedRepo"):
        preflight_spec(spec, KAI, cluster=Reader(4, secrets={"hf": TOKEN_NO_ACCESS}))
    report = preflight_spec(spec, KAI, cluster=Reader(4, secrets={"hf": TOKEN_GRANTED}))
    assert report.model is not None and report.capacity is not None
    assert report.capacity.peak_gpus == 1


def test_unreadable_secret_downgrades_access_failure_to_a_note(hub: HubEmulator) -> None:
    spec = parse_spec(hf_doc({"id": GATED_8B, "tokenSecret": "hf"}))
    report = preflight_spec(spec, KAI)
    assert report.model is None
    assert "the token in Secret 'hf' could not be read here" in report.notes[0]


def test_70b_hf_spec_on_one_gpu_refused(hub: HubEmulator) -> None:
    with pytest.raises(ModelDoesNotFit, match="use tensor parallel size 4"):
        preflight_spec(parse_spec(hf_doc({"id": LARGE_70B})), KAI)


def test_knative_update_over_quota_refused(hub: HubEmulator) -> None:
    spec = parse_spec(hf_doc({"id": GATED_8B, "token": TOKEN_GRANTED}, vllm={"maxModelLen": 8192}))
    reader = Reader(1, pods=[running_pod("chat", 1)])
    with pytest.raises(InsufficientQuota) as err:
        preflight_spec(spec, KAI, cluster=reader)
    msg = str(err.value)
    assert "the update of 'chat' needs 2 GPUs at its peak (1 running + 1 surge)" in msg
    assert "Non-preemptible workloads (priority >= 100) may only use in-quota GPUs" in msg


def test_lws_update_with_dip(hub: HubEmulator) -> None:
    spec = parse_spec(lws_doc(LARGE_70B, max_surge=1))
    pods = [running_pod("big", 8), running_pod("big", 8)]
    for p in pods:
        del p["metadata"]["labels"]["serving.knative.dev/service"]
        p["metadata"]["labels"]["priorityClassName"] = "inference"
    with pytest.raises(InsufficientQuota, match="Allow a capacity dip"):
        preflight_spec(spec, KAI, cluster=Reader(16, pods=pods))
    report = preflight_spec(spec, KAI, cluster=Reader(16, pods=pods), allow_capacity_dip=True)
    assert report.capacity is not None
    assert report.capacity.suggested_rollout == {"maxSurge": 0, "maxUnavailable": 1}
    assert report.model is not None and report.model.pipeline_parallel_size == 2
    assert "capacity will dip" in report.summary()
    rendered = render(report.pinned(spec), KAI)
    lws = next(o for o in rendered if o["kind"] == "LeaderWorkerSet")
    assert lws["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxSurge"] == 0
    assert lws["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxUnavailable"] == 1


def test_pinned_spec_renders_the_commit_and_parallel_sizes(hub) -> None:  # type: ignore[no-untyped-def]
    from inference_core.preflight import preflight_spec
    from inference_core.render import render, serving_object
    from inference_core.spec import parse_spec

    spec = parse_spec({"kind": "HuggingFaceInference",
                       "metadata": {"name": "qwen", "project": "team-a"},
                       "spec": {"model": {"id": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "main"}}})
    report = preflight_spec(spec)
    pinned = report.pinned(spec)
    args = serving_object(render(pinned))["spec"]["template"]["spec"]["containers"][0]["args"]
    sha = report.model.commit_sha
    assert len(sha) == 40 and sha != "main"
    assert args[args.index("--revision") + 1] == sha
    assert args[args.index("--tensor-parallel-size") + 1] == str(report.model.tensor_parallel_size)
    assert spec.spec.model.revision == "main"  # the original spec is unchanged
