"""``pulumi up`` for real: the Go-built engine and Kubernetes provider deploy the repository's
stack program (``Pulumi.yaml``'s ``pulumi_program``) for the example specs, and the lifecycle
is checked against the live cluster: objects equal ``infstack render`` (modulo server
defaults), outputs, a second ``up`` with no changes, an image change previewed as an update
and rolled out, ``refresh`` without drift, secrets encrypted in the state, ``destroy``
leaving nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from pydantic import SecretStr

from inference_core.profile import load_profile
from inference_core.render import endpoints
from inference_core.spec import load_specs
from inference_core.spec.loader import AnySpec
from tests.helpers import EXAMPLES, example_profile
from tests.pulumi_real.cluster import Cluster
from tests.pulumi_real.engine import Engine, config_values, root_program
from tests.pulumi_real.live import existing, live_differences, prerequisites, rendered

pytestmark = [pytest.mark.real, pytest.mark.timeout(1800)]

TOKEN = "hf_realTierSecret0123456789abcdefXYZ"
NEW_IMAGE = "nvcr.io/acme/triton-embedder:24.09"


def with_stack_token(spec: AnySpec) -> AnySpec:
    """The spec as the program deploys it: a model naming no token gets the stack's
    ``hfToken`` (``infstack render`` of the spec with that token)."""
    model = getattr(spec.spec, "model", None)
    if model is None or model.token is not None or model.token_secret is not None:
        return spec
    model = model.model_copy(update={"token": SecretStr(TOKEN)})
    return spec.model_copy(update={"spec": spec.spec.model_copy(update={"model": model})})


def camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@pytest.fixture(scope="module")
def prepared(cluster: Cluster) -> Cluster:
    with cluster.http() as http:
        for obj in prerequisites(TOKEN):
            response = http.apply(obj, manager="infstack-test-setup", force=True)
            assert response.status_code in (200, 201), response.text
    return cluster


@pytest.fixture(scope="module")
def kai_stack(engine: Engine, prepared: Cluster, tmp_path_factory: pytest.TempPathFactory,
              ) -> Iterator[tuple[auto.Stack, Path]]:
    """The root program over copies of the kai-profile examples (the copies let a test change
    an image the way a user edits a spec file)."""
    root = tmp_path_factory.mktemp("kai-stack")
    specs = []
    for path in EXAMPLES:
        if example_profile(path) == "kai":
            shutil.copy(path, root / path.name)
            specs.append(str(root / path.name))
    config = config_values({
        "inference-stacks:profile": "kai", "inference-stacks:specs": specs,
        "inference-stacks:hfToken": TOKEN, "kubernetes:kubeconfig": str(prepared.kubeconfig)},
        secret=("inference-stacks:hfToken",))
    stack = engine.stack("kai", root_program, root / "work", config)
    yield stack, root
    stack.destroy(on_output=None)
    stack.workspace.remove_stack("kai")


def changes(summary: Any) -> dict[str, int]:
    return {k: v for k, v in (summary.resource_changes or {}).items() if k != "same" and v}


def test_up_deploys_every_kai_example_as_rendered_and_awaited(
        kai_stack: tuple[auto.Stack, Path], prepared: Cluster) -> None:
    stack, root = kai_stack
    result = stack.up(on_output=None)
    assert result.summary.result == "succeeded", result.stdout[-3000:]
    specs = [s for p in sorted(root.glob("*.yaml")) for s in load_specs(p)]
    profile = load_profile("kai")
    outputs = result.outputs
    for spec in specs:
        key = camel(spec.metadata.name)
        ends = endpoints(spec, profile)
        assert outputs[f"{key}Ready"].value is True, key
        assert outputs[f"{key}InternalUrl"].value == ends.internal_url
        assert outputs[f"{key}ServiceName"].value == ends.service_name
        assert outputs[f"{key}Namespace"].value == profile.namespace_for(spec.metadata.project)
        url = outputs.get(f"{key}Url")  # an output of None is not exported
        assert (url.value if url else None) == ends.url, key
    with prepared.http() as http:
        assert live_differences(
            http, rendered([with_stack_token(s) for s in specs], profile)) == {}

    # A second up changes nothing.
    again = stack.up(on_output=None)
    assert changes(again.summary) == {}, again.stdout[-3000:]

    # Refresh: the state matches the cluster (no drift).
    refreshed = stack.refresh(on_output=None)
    assert changes(refreshed.summary) == {}, refreshed.stdout[-3000:]


def test_image_change_is_an_update_rolled_out_and_awaited(
        kai_stack: tuple[auto.Stack, Path], prepared: Cluster) -> None:
    stack, root = kai_stack
    stack.up(on_output=None)
    spec_file = root / "custom-grpc-fraction.yaml"
    doc = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    doc["spec"]["image"] = NEW_IMAGE
    spec_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    preview = stack.preview(diff=True, on_output=None)
    summary = preview.change_summary
    assert summary.get("update") == 1 and not summary.get("replace"), preview.stdout[-3000:]
    assert NEW_IMAGE in preview.stdout
    result = stack.up(on_output=None)
    assert result.summary.result == "succeeded"
    name = doc["metadata"]["name"]
    namespace = load_profile("kai").namespace_for(doc["metadata"]["project"])
    assert result.outputs[f"{camel(name)}Ready"].value is True
    with prepared.http() as http:
        live = http.get(f"/apis/serving.knative.dev/v1/namespaces/{namespace}/services/"
                        f"{name}").json()
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE
    status = live["status"]
    assert status["latestReadyRevisionName"] == status["latestCreatedRevisionName"]
    assert status["latestReadyRevisionName"].endswith("-00002")


def test_state_holds_no_clear_text_secret(engine: Engine,
                                          kai_stack: tuple[auto.Stack, Path]) -> None:
    stack, _ = kai_stack
    stack.up(on_output=None)
    state = engine.exported(stack)
    assert TOKEN not in state
    assert "ciphertext" in state  # the token Secret's data is encrypted, not dropped


def test_destroy_leaves_nothing(engine: Engine, prepared: Cluster,
                                tmp_path: Path) -> None:
    specs = [p for p in EXAMPLES if example_profile(p) == "default"]
    config = config_values({
        "inference-stacks:profile": "default", "inference-stacks:specs": [str(p) for p in specs],
        "inference-stacks:hfToken": TOKEN, "kubernetes:kubeconfig": str(prepared.kubeconfig)},
        secret=("inference-stacks:hfToken",))
    stack = engine.stack("default-destroy", root_program, tmp_path / "work", config)
    up = stack.up(on_output=None)
    assert up.summary.result == "succeeded", up.stdout[-3000:]
    objects = rendered([with_stack_token(s) for p in specs for s in load_specs(p)],
                       load_profile("default"))
    with prepared.http() as http:
        assert live_differences(http, objects) == {}
        stack.destroy(on_output=None)
        assert existing(http, objects) == []
    stack.workspace.remove_stack("default-destroy")


def test_kubeconfig_given_as_a_string_is_secret_in_state(engine: Engine, prepared: Cluster,
                                                         tmp_path: Path) -> None:
    from pulumi_components import CustomInference, InferenceArgs

    kubeconfig = prepared.kubeconfig.read_text(encoding="utf-8")
    user = yaml.safe_load(kubeconfig)["users"][0]["user"]
    credential = user.get("token") or user.get("client-key-data")
    assert credential
    spec = next(p for p in EXAMPLES if p.name == "custom-http.yaml")

    def program() -> None:
        CustomInference("iris", InferenceArgs(spec=spec, kubeconfig=kubeconfig))

    stack = engine.stack("kubeconfig-secret", program, tmp_path / "work", {})
    try:
        up = stack.up(on_output=None)
        assert up.summary.result == "succeeded", up.stdout[-3000:]
        state = engine.exported(stack)
        assert credential not in state
        assert kubeconfig not in state
    finally:
        stack.destroy(on_output=None)
        stack.workspace.remove_stack("kubeconfig-secret")


def test_a_bad_image_fails_up_with_the_kubelet_reason(engine: Engine, prepared: Cluster,
                                                      tmp_path: Path) -> None:
    """The component's wait (the core's readiness) fails ``pulumi up`` with the kubelet's
    reason long before its timeout (600 s: a timeout would say ReadinessTimeout instead)."""
    from pulumi_components import CustomInference, InferenceArgs

    doc = yaml.safe_load(next(p for p in EXAMPLES if p.name == "custom-http.yaml")
                         .read_text(encoding="utf-8"))
    doc["metadata"]["name"] = "iris-bad-image"
    doc["spec"]["image"] = "registry.example/does-not-exist:1"

    def program() -> None:
        CustomInference("bad", InferenceArgs(spec=doc, timeout_seconds=600))

    config = config_values({"kubernetes:kubeconfig": str(prepared.kubeconfig)})
    stack = engine.stack("bad-image", program, tmp_path / "work", config)
    try:
        with pytest.raises(auto.CommandError) as info:
            stack.up(on_output=None)
        text = str(info.value)
        assert 'inference-stacks:index:CustomInference "bad"' in text
        assert "WorkloadFailed" in text and "team-a/iris-bad-image" in text
        assert "ErrImagePull" in text or "ImagePullBackOff" in text
    finally:
        stack.destroy(on_output=None)
        stack.workspace.remove_stack("bad-image")
