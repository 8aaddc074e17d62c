"""The components served to other Pulumi languages: the inferred package schema, and
construction through the component provider (as a TypeScript or YAML stack would call it)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider

from inference_core.spec import load_specs
from pulumi_components import CustomInference, InferenceArgs, InferenceComponentError
from pulumi_components.hosted import HOSTED
from tests.helpers import REPO
from tests.pulumi.harness import as_text, deploy, install, plain

CUSTOM = REPO / "examples" / "custom-http.yaml"
HF_GATED = REPO / "examples" / "hf-gated-cluster-local.yaml"
TYPE = "inference-stacks:index:{}"


@pytest.fixture(scope="module")
def provider() -> ComponentProvider:
    return ComponentProvider(HOSTED, "inference-stacks", version="0.1.0")


def doc(path: Any) -> dict[str, Any]:
    return load_specs(path)[0].model_dump(by_alias=True, exclude_none=True, mode="json")


def test_schema_lists_the_three_components_with_their_inputs_and_outputs(
        provider: ComponentProvider) -> None:
    schema = json.loads(provider.schema)
    assert schema["name"] == "inference-stacks"
    assert set(schema["resources"]) == {TYPE.format(k) for k in (
        "CustomInference", "HuggingFaceInference", "DistributedInference")}
    for resource in schema["resources"].values():
        assert resource["isComponent"] is True
        inputs = resource["inputProperties"]
        assert {"spec", "specYaml", "profile", "hfToken", "kubeconfig", "preflight",
                "allowCapacityDip", "rolloutOwner"} <= set(inputs)
        assert inputs["spec"]["type"] == "object" and inputs["specYaml"]["type"] == "string"
        assert inputs["skipAwait"]["type"] == "boolean"
        assert inputs["timeoutSeconds"]["type"] == "integer"
        assert set(resource["properties"]) == {"url", "internalUrl", "namespace", "serviceName",
                                               "manifestsJson", "ready"}
        assert resource["requiredInputs"] == []


def plain_manifests(spec: dict[str, Any]) -> list[dict[str, Any]]:
    from inference_core.profile import load_profile
    from inference_core.render import render
    from inference_core.spec import parse_spec

    return render(parse_spec(spec), load_profile("kai"))


def construct(provider: ComponentProvider, kind: str, name: str, inputs: dict[str, Any]) -> Any:
    return provider.construct(name, TYPE.format(kind), inputs, None)


def test_construct_matches_the_python_component(provider: ComponentProvider) -> None:
    spec = doc(CUSTOM)
    python = install()
    deploy(lambda: CustomInference("app", InferenceArgs(spec=spec, profile="kai")))
    hosted = install()
    box: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        result = construct(provider, "CustomInference", "app", {"spec": spec, "profile": "kai"})
        return pulumi.Output.all(**result.state).apply(box.update)

    program()
    ours = {n: r for n, r in python.registrations.items() if r.type != "pulumi:pulumi:Stack"}
    assert set(hosted.registrations) == set(ours)
    for name, reg in ours.items():
        assert plain(hosted.registrations[name].inputs) == plain(reg.inputs), name
        assert hosted.registrations[name].type == reg.type
    assert box["serviceName"] == spec["metadata"]["name"]
    applied = json.loads(box["manifestsJson"])
    assert [m["kind"] for m in applied] == [m["kind"] for m in plain_manifests(spec)]
    assert box["ready"] is True


def test_yaml_text_and_a_secret_token(provider: ComponentProvider) -> None:
    monitor = install()
    text = HF_GATED.read_text().replace("    tokenSecret: hf-credentials\n", "")

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        return construct(provider, "HuggingFaceInference", "llm", {
            "specYaml": text, "hfToken": pulumi.Output.secret("hf_hosted_secret")}).urn

    program()
    assert "llm-hf-token" in monitor.registrations
    for name, reg in monitor.registrations.items():
        if name != "llm-hf-token":
            assert "hf_hosted_secret" not in as_text(reg.inputs), name


@pytest.mark.parametrize(("inputs", "message"), [
    ({}, "args.spec: give exactly one of spec (an object) or specYaml (YAML text); got neither"),
    ({"spec": {"kind": "CustomInference"}, "spec_yaml": "a: 1\n"},
     "got spec and specYaml"),
    ({"spec_yaml": "x\n", "profile": "kai", "profile_object": {"gpuMemoryPerDevice": "80GB"}},
     "give either profile (a built-in name) or profileObject, not both"),
    ({"spec": pulumi.Output.from_input({"kind": "CustomInference"})},
     "args.spec: must be a known value when the component is created"),
])
def test_bad_inputs_name_the_field(inputs: dict[str, Any], message: str) -> None:
    from pulumi_components.hosted import to_inference_args

    with pytest.raises(InferenceComponentError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        to_inference_args(inputs, 'inference-stacks:index:CustomInference "x"')  # type: ignore[arg-type]


def test_plugin_folder_hosts_the_components(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    import yaml
    from pulumi.provider import experimental

    plugin = REPO / "pulumi_provider"
    assert yaml.safe_load((plugin / "PulumiPlugin.yaml").read_text())["runtime"]["name"] == \
        "python"
    hosted: dict[str, Any] = {}
    monkeypatch.setattr(experimental, "component_provider_host",
                        lambda components, **kw: hosted.update(components=components, **kw))
    runpy.run_path(str(plugin / "__main__.py"), run_name="__main__")
    assert hosted["components"] == HOSTED and hosted["name"] == "inference-stacks"
    from importlib.metadata import version

    assert hosted["version"] == version("inference-stacks")
