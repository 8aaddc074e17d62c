"""Pulumi mock tier: the components apply the policies and assets their profile lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_components import (
    CustomInference,
    HuggingFaceInference,
    InferenceArgs,
    InferenceComponentError,
)
from tests.helpers import REPO
from tests.policy.conftest import Write
from tests.pulumi.harness import deploy, install, plain

EX = REPO / "examples/policies"


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def _profile(write: Write) -> str:
    kai = (REPO / "inference_core/profiles/kai.yaml").read_text()
    return str(write("cluster/profile.yaml", kai + f"policies: [{EX / 'policies'}]\n"
                     f"assets: [{EX / 'assets'}]\n"))


def test_component_renders_the_effective_spec(write: Write) -> None:
    monitor = install()
    profile = _profile(write)
    deploy(lambda: HuggingFaceInference("chat", InferenceArgs(
        spec=str(EX / "chat.yaml"), spec_name="llama-chat", profile=profile)))
    service = plain(monitor.registrations["chat-service"].inputs)
    pod = service["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com/mirror/vllm-openai:v0.11.0"
    assert pod["imagePullSecrets"] == [{"name": "team-registry-pull"}]
    assert service["metadata"]["labels"]["cost-center"] == "ml-team-a"
    assert any(v.get("persistentVolumeClaim", {}).get("claimName") == "team-a-datasets"
               for v in pod["volumes"])


def test_component_refuses_a_policy_violation_before_registering(write: Write) -> None:
    monitor = install()
    profile = _profile(write)
    spec = {"kind": "CustomInference", "metadata": {"name": "greedy", "project": "team-a"},
            "spec": {"image": "img:1", "compute": {"gpuDevices": 4}}}
    with pytest.raises(InferenceComponentError) as err:
        deploy(lambda: CustomInference("greedy", InferenceArgs(spec=spec, profile=profile)))
    assert "spec.compute.gpuDevices: policy team-a-inference: must be <= 2 (got 4)" in \
        str(err.value)
    assert not [r for r in monitor.registrations.values() if r.type.startswith("kubernetes:")]
