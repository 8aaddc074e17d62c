"""Opt-in preflight in the components, against the Hub emulator and the sandbox API server:
children are rendered from the pinned spec, and a refusal registers nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from kubernetes import client, config

from inference_sandbox import Sandbox, SandboxConfig
from inference_sandbox.config import KaiQueue
from inference_sandbox.hub import (
    GATED_8B,
    LARGE_70B,
    TOKEN_GRANTED,
    TOKEN_NO_ACCESS,
    HubEmulator,
)
from pulumi_components import (
    DistributedInference,
    HuggingFaceInference,
    InferenceArgs,
    InferenceComponentError,
)
from tests.pulumi.harness import as_text, deploy, install, plain
from tests.pulumi.test_options import container

NS = "team-a"


def hf_doc(model: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
            "metadata": {"name": "chat", "project": NS},
            "spec": {"model": {"id": model}, **spec}}


def lws_doc() -> dict[str, Any]:
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
            "metadata": {"name": "big", "project": NS},
            "spec": {"model": {"id": LARGE_70B},
                     "leader": {"compute": {"gpuDevices": 4}},
                     "workers": {"count": 1, "compute": {"gpuDevices": 4}},
                     "rollout": {"maxSurge": 1, "maxUnavailable": 0}}}


def arg_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_without_preflight_nothing_asks_the_hub(hub: HubEmulator) -> None:
    install()
    box = deploy(lambda: HuggingFaceInference("off", InferenceArgs(
        spec=hf_doc(GATED_8B), hf_token=pulumi.Output.secret(TOKEN_GRANTED))))
    assert hub.requests == []
    args = container(box["outputs"][0]["manifests"][-1])["args"]
    assert "--revision" not in args


def test_children_are_rendered_from_the_pinned_spec(hub: HubEmulator) -> None:
    monitor = install()
    box = deploy(lambda: HuggingFaceInference("on", InferenceArgs(
        spec=hf_doc(GATED_8B), hf_token=pulumi.Output.secret(TOKEN_GRANTED), preflight=True)))
    sha = hub.repos[GATED_8B].refs["main"]
    applied = plain(monitor.registrations["on-service"].inputs)
    args = container(applied)["args"]
    assert arg_after(args, "--revision") == sha and len(sha) == 40
    assert arg_after(args, "--tensor-parallel-size") == "1"
    # The manifests output shows what was applied, and the token went to the Hub only.
    assert container(box["outputs"][0]["manifests"][-1]["spec"]["template"]["spec"]
                     and box["outputs"][0]["manifests"][-1])["args"] == args
    assert all(r.authenticated for r in hub.requests)
    for name in ("on-service", "on"):
        assert TOKEN_GRANTED not in as_text(monitor.registrations[name].inputs)
    assert TOKEN_GRANTED not in as_text(monitor.component_outputs)
    # The pinned spec is not secret: the serving object's inputs stay readable in state.
    assert not pulumi.runtime.rpc.is_rpc_secret(monitor.registrations["on-service"].inputs["spec"])


@pytest.mark.parametrize(("doc", "token", "error"), [
    (hf_doc(GATED_8B), TOKEN_NO_ACCESS, "ModelAccessDenied"),
    (hf_doc(LARGE_70B, compute={"gpuDevices": 1}), TOKEN_GRANTED, "ModelDoesNotFit"),
])
def test_a_refusal_registers_no_child(hub: HubEmulator, doc: dict[str, Any], token: str,
                                      error: str) -> None:
    monitor = install()
    with pytest.raises(InferenceComponentError) as info:
        deploy(lambda: HuggingFaceInference("bad", InferenceArgs(
            spec=doc, hf_token=pulumi.Output.secret(token), preflight=True)))
    message = str(info.value)
    assert message.startswith('inference-stacks:index:HuggingFaceInference "bad": ' + error)
    assert token not in message
    if error == "ModelDoesNotFit":
        assert "GiB" in message and "tensor" in message.lower()
    assert not monitor.children("bad")


def test_allow_capacity_dip_needs_preflight() -> None:
    install()
    with pytest.raises(InferenceComponentError, match=r"args.allow_capacity_dip: only applies "
                       r"with preflight=True"):
        deploy(lambda: DistributedInference("x", InferenceArgs(spec=lws_doc(),
                                                               allow_capacity_dip=True)))


@pytest.fixture
def full_queue() -> Iterator[Sandbox]:
    """Queue ``team-a`` with 8 GPUs of quota, all used by the running ``big`` workload."""
    cfg = SandboxConfig(queues=[KaiQueue(NS, gpu_quota=8, gpu_limit=0)], namespaces=[NS])
    with Sandbox(cfg).running() as sb:
        api = config.new_client_from_config(config_file=sb.kubeconfig_path, context="sandbox")
        try:
            for i in range(2):
                client.CoreV1Api(api).create_namespaced_pod(NS, {
                    "metadata": {"name": f"big-0-{i}", "labels": {
                        "inference-stacks.io/workload": "big", "kai.scheduler/queue": NS}},
                    "spec": {"containers": [{"name": "main", "image": "vllm/vllm-openai:v0.11.0",
                                             "resources": {"limits": {"nvidia.com/gpu": "4"}}}]}})
        finally:
            api.close()
        yield sb


def test_capacity_through_the_kubeconfig(hub: HubEmulator, full_queue: Sandbox) -> None:
    kubeconfig = Path(full_queue.kubeconfig_path).read_text()
    monitor = install()
    with pytest.raises(InferenceComponentError) as info:
        deploy(lambda: DistributedInference("big", InferenceArgs(
            spec=lws_doc(), profile="kai", hf_token=pulumi.Output.secret(TOKEN_GRANTED),
            kubeconfig=pulumi.Output.secret(kubeconfig), preflight=True, skip_await=True)))
    assert "InsufficientQuota: queue 'team-a'" in str(info.value)
    assert "short by" in str(info.value)
    assert not [n for n in monitor.children("big") if n != "big-provider"]

    monitor = install()
    deploy(lambda: DistributedInference("big", InferenceArgs(
        spec=lws_doc(), profile="kai", hf_token=pulumi.Output.secret(TOKEN_GRANTED),
        kubeconfig=pulumi.Output.secret(kubeconfig), preflight=True, allow_capacity_dip=True,
        skip_await=True)))
    lws = plain(monitor.registrations["big-lws"].inputs)
    rolling = lws["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]
    assert (rolling["maxSurge"], rolling["maxUnavailable"]) == (0, 1)
    leader = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    assert arg_after(leader["command"][-1].split(), "--revision") == \
        hub.repos[LARGE_70B].refs["main"]
    paths = {r.path for r in full_queue.requests}
    assert f"/apis/scheduling.run.ai/v2/queues/{NS}" in paths
