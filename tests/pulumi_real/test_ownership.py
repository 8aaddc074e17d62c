"""Stacks and pipelines on the same objects, through the real engine: ``rollout_owner=
"pipeline"`` keeps a pipeline's image change; a workload a pipeline created first is adopted by
``pulumi up``; preflight pins the model commit in the live manifests (Hub emulator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import load_specs, parse_spec
from inference_sandbox.hub import HubEmulator
from pulumi_components import CustomInference, HuggingFaceInference, InferenceArgs
from tests.helpers import REPO
from tests.pulumi_real.cluster import Cluster
from tests.pulumi_real.engine import Engine
from tests.pulumi_real.live import prerequisites

pytestmark = [pytest.mark.real, pytest.mark.timeout(1800)]

CUSTOM = REPO / "examples" / "custom-http.yaml"
PIPELINE_IMAGE = "ghcr.io/acme/iris-classifier:1.5.0"
PIPELINE_MANAGER = "inference-stacks"
"""The field manager the Airflow provider and ``infstack`` apply with."""


def ksvc_path(namespace: str, name: str) -> str:
    return f"/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}"


@pytest.fixture
def prepared(cluster: Cluster) -> Cluster:
    with cluster.http() as http:
        for obj in prerequisites("hf_unused0123456789abcdefghij"):
            assert http.apply(obj, manager="infstack-test-setup", force=True).status_code \
                in (200, 201)
    return cluster


def image_of(live: dict[str, Any]) -> str:
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_pipeline_owner_keeps_a_pipeline_image_change(engine: Engine, prepared: Cluster,
                                                      tmp_path: Path) -> None:
    spec = load_specs(CUSTOM)[0].model_copy(update={"metadata": load_specs(CUSTOM)[0].metadata
                                                    .model_copy(update={"name": "iris-owned"})})

    def program() -> None:
        CustomInference("iris", InferenceArgs(spec=spec, rollout_owner="pipeline"))

    config = {"kubernetes:kubeconfig": _plain(str(prepared.kubeconfig))}
    stack = engine.stack("pipeline-owner", program, tmp_path / "work", config)
    try:
        assert stack.up(on_output=None).summary.result == "succeeded"
        serving = render(spec, load_profile("default"))[-1]
        assert serving["kind"] == "Service"
        # The pipeline's rolling update: the pod template with its own field manager (taking
        # over the rollout fields Pulumi created, as docs/pulumi.md "Ownership" describes).
        rolled = {"apiVersion": serving["apiVersion"], "kind": "Service",
                  "metadata": {"name": "iris-owned", "namespace": "team-a"},
                  "spec": {"template": serving["spec"]["template"]}}
        rolled["spec"]["template"]["spec"]["containers"][0]["image"] = PIPELINE_IMAGE
        with prepared.http() as http:
            response = http.apply(rolled, manager=PIPELINE_MANAGER, force=True)
            assert response.status_code == 200, response.text
        up = stack.up(on_output=None)
        assert up.summary.result == "succeeded", up.stdout[-3000:]
        with prepared.http() as http:
            assert image_of(http.get(ksvc_path("team-a", "iris-owned")).json()) == PIPELINE_IMAGE
    finally:
        stack.destroy(on_output=None)
        stack.workspace.remove_stack("pipeline-owner")


def test_a_workload_a_pipeline_created_first_is_adopted(engine: Engine, prepared: Cluster,
                                                        tmp_path: Path) -> None:
    base = load_specs(CUSTOM)[0]
    spec = parse_spec(base.model_copy(update={"metadata": base.metadata.model_copy(
        update={"name": "iris-adopted"})}))
    with prepared.http() as http:
        for obj in render(spec, load_profile("default")):
            assert http.apply(obj, manager=PIPELINE_MANAGER).status_code in (200, 201)

    def program() -> None:
        CustomInference("iris", InferenceArgs(spec=spec))

    config = {"kubernetes:kubeconfig": _plain(str(prepared.kubeconfig))}
    stack = engine.stack("adopt", program, tmp_path / "work", config)
    try:
        # Without a takeover, the provider refuses: the pipeline's manager owns the fields.
        with pytest.raises(auto.CommandError, match="Server-Side Apply field conflict"):
            stack.up(on_output=None)
        # The documented adoption: one `up` that forces server-side apply ownership.
        stack.workspace.env_vars["PULUMI_K8S_ENABLE_PATCH_FORCE"] = "true"
        up = stack.up(on_output=None)
        assert up.summary.result == "succeeded", up.stdout[-3000:]
        del stack.workspace.env_vars["PULUMI_K8S_ENABLE_PATCH_FORCE"]
        again = stack.up(on_output=None)
        assert {k: v for k, v in again.summary.resource_changes.items() if k != "same"} == {}
        resources = stack.export_stack().deployment["resources"]
        assert any(r["type"] == "kubernetes:serving.knative.dev/v1:Service" for r in resources)
        with prepared.http() as http:
            live = http.get(ksvc_path("team-a", "iris-adopted")).json()
        managers = {m["manager"] for m in live["metadata"]["managedFields"]}
        assert PIPELINE_MANAGER in managers
        assert any(m.startswith("pulumi-kubernetes") for m in managers), managers
    finally:
        stack.destroy(on_output=None)
        stack.workspace.remove_stack("adopt")


def test_preflight_pins_the_model_commit_in_the_live_manifest(
        engine: Engine, prepared: Cluster, hub: HubEmulator, tmp_path: Path) -> None:
    doc = {"apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
           "metadata": {"name": "tiny-pinned", "project": "team-a"},
           "spec": {"model": {"id": "Qwen/Qwen2.5-0.5B-Instruct"},
                    "endpoint": {"exposure": "cluster-local"},
                    "compute": {"gpuPortion": {"request": 50}},
                    "vllm": {"gpuMemoryUtilization": 0.45}}}

    def program() -> None:
        HuggingFaceInference("tiny", InferenceArgs(spec=doc, profile="kai", preflight=True))

    config = {"kubernetes:kubeconfig": _plain(str(prepared.kubeconfig))}
    stack = engine.stack("preflight", program, tmp_path / "work", config)
    try:
        up = stack.up(on_output=None)
        assert up.summary.result == "succeeded", up.stdout[-3000:]
        with prepared.http() as http:
            live = http.get(ksvc_path("team-a", "tiny-pinned")).json()
        args = live["spec"]["template"]["spec"]["containers"][0]["args"]
        commit = hub.repos["Qwen/Qwen2.5-0.5B-Instruct"].refs["main"]
        assert args[args.index("--revision") + 1] == commit
    finally:
        stack.destroy(on_output=None)
        stack.workspace.remove_stack("preflight")


def _plain(value: str) -> Any:
    from pulumi import automation as auto

    return auto.ConfigValue(value=value)
