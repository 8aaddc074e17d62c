"""Pulumi-input overrides, await options, ownership, providers, outputs."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from inference_core.profile import load_profile
from inference_core.render import endpoints
from inference_core.spec import load_specs
from pulumi_components import (
    CustomInference,
    DistributedInference,
    HuggingFaceInference,
    InferenceArgs,
)
from tests.helpers import REPO
from tests.pulumi.cases import DISTRIBUTED_TOKEN
from tests.pulumi.harness import deploy, install, plain

CUSTOM = str(REPO / "examples" / "custom-http.yaml")
HF_GATED = str(REPO / "examples" / "hf-gated-cluster-local.yaml")
RAY = str(REPO / "examples" / "distributed-ray.yaml")


def container(inputs: dict[str, Any], path: tuple[str, ...] = ("spec", "template", "spec")
              ) -> dict[str, Any]:
    node: Any = inputs
    for part in path:
        node = node[part]
    return node["containers"][0]  # type: ignore[no-any-return]


def test_outputs_follow_endpoints() -> None:
    install()
    box = deploy(lambda: CustomInference("iris", InferenceArgs(spec=CUSTOM)))
    out = box["outputs"][0]
    ends = endpoints(load_specs(CUSTOM)[0], load_profile("default"))
    assert (out["url"], out["internal_url"], out["service_name"]) == \
        (ends.url, ends.internal_url, ends.service_name)
    assert out["namespace"] == "team-a"
    assert out["ready"] is True


def test_outputs_from_pulumi_inputs_override_namespace_image_and_secret() -> None:
    monitor = install()
    box = deploy(lambda: HuggingFaceInference("llm", InferenceArgs(
        spec=HF_GATED, namespace=pulumi.Output.from_input("ml-prod"),
        image_tag=pulumi.Output.from_input("v0.11.1"),
        hf_token_secret_name=pulumi.Output.from_input("prod-hf"))))
    out = box["outputs"][0]
    assert out["namespace"] == "ml-prod"
    assert out["internal_url"] == "http://llama-8b.ml-prod.svc.cluster.local"
    assert out["url"] is None  # cluster-local
    service = plain(monitor.registrations["llm-service"].inputs)
    assert service["metadata"]["namespace"] == "ml-prod"
    c = container(service)
    assert c["image"] == "vllm/vllm-openai:v0.11.1"
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "prod-hf", "key": "HF_TOKEN"}}} in c["env"]
    assert all(m["metadata"]["namespace"] == "ml-prod" for m in out["manifests"])


def test_plain_image_override_on_distributed_sets_leader_and_workers() -> None:
    monitor = install()
    deploy(lambda: DistributedInference("ray", InferenceArgs(
        spec=RAY, profile="kai", image="registry.local/vllm:custom@sha256:abc",
        image_tag="2024.10")))
    lws = plain(monitor.registrations["ray-lws"].inputs)["spec"]["leaderWorkerTemplate"]
    assert container(lws, ("leaderTemplate", "spec"))["image"] == "registry.local/vllm:2024.10"
    assert container(lws, ("workerTemplate", "spec"))["image"] == "registry.local/vllm:2024.10"


def test_skip_await_and_timeout() -> None:
    monitor = install()
    box = deploy(lambda: CustomInference("iris", InferenceArgs(spec=CUSTOM, skip_await=True,
                                                                timeout_seconds=99)))
    annotations = monitor.registrations["iris-service"].inputs["metadata"]["annotations"]
    assert annotations["pulumi.com/skipAwait"] == "true"
    assert annotations["pulumi.com/timeoutSeconds"] == "99"
    assert box["outputs"][0]["ready"] is None


@pytest.mark.parametrize(("spec", "child", "fields"), [
    (CUSTOM, "w-service", ["spec.template", "spec.traffic"]),
    (RAY, "w-lws", ["spec.leaderWorkerTemplate", "spec.replicas"]),
])
def test_pipeline_ownership_ignores_rollout_fields(spec: str, child: str,
                                                   fields: list[str]) -> None:
    monitor = install()
    kind = load_specs(spec)[0].kind
    cls = {"CustomInference": CustomInference, "DistributedInference": DistributedInference}[kind]
    deploy(lambda: cls("w", InferenceArgs(spec=spec, profile="kai", rollout_owner="pipeline")))
    assert monitor.registrations[child].ignore_changes == fields
    install()
    monitor = install()
    deploy(lambda: cls("w", InferenceArgs(spec=spec, profile="kai")))
    assert monitor.registrations[child].ignore_changes == []


def test_kubeconfig_creates_a_provider_for_every_child() -> None:
    monitor = install()
    deploy(lambda: DistributedInference("ray", InferenceArgs(spec=RAY, profile="kai",
                                                              kubeconfig="apiVersion: v1",
                                                              skip_await=True)))
    provider = monitor.registrations["ray-provider"]
    assert provider.type == "pulumi:providers:kubernetes"
    for name in ("ray-lws", "ray-leader"):
        assert monitor.registrations[name].provider.startswith(provider.urn)


def test_explicit_provider_is_used() -> None:
    monitor = install()

    def build() -> Any:
        provider = k8s.Provider("gpu-cluster", context="gpu")
        return CustomInference("iris", InferenceArgs(spec=CUSTOM, provider=provider))

    deploy(build)
    assert monitor.registrations["iris-service"].provider.startswith(
        monitor.registrations["gpu-cluster"].urn)


def test_external_distributed_url_comes_from_the_load_balancer() -> None:
    install(status={"big-leader": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}})
    box = deploy(lambda: DistributedInference("big", {"spec": DISTRIBUTED_TOKEN,
                                                      "profile": "kai"}))
    assert box["outputs"][0]["url"] == "http://203.0.113.7:8000"
    assert box["outputs"][0]["service_name"] == "big-llm-leader"


def test_bare_spec_and_dict_without_kind_are_accepted() -> None:
    install()
    spec = load_specs(CUSTOM)[0]
    doc = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    doc.pop("kind")
    box = deploy(lambda: [CustomInference("a", spec), CustomInference("b", {"spec": doc})])
    assert box["outputs"][0]["manifests"] == box["outputs"][1]["manifests"]
