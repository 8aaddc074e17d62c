"""Bad specs and arguments fail as clear Pulumi errors naming the component and the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from pulumi_components import (
    CustomInference,
    HuggingFaceInference,
    InferenceArgs,
    InferenceComponentError,
)
from tests.helpers import REPO
from tests.pulumi.cases import CUSTOM_TOOLS, HF_TOKEN_IN_SPEC, TOKEN
from tests.pulumi.harness import deploy, install

HF = 'inference-stacks:index:HuggingFaceInference "llama"'
CUSTOM = 'inference-stacks:index:CustomInference "app"'


def failing(build: Any) -> InferenceComponentError:
    monitor = install()
    with pytest.raises(InferenceComponentError) as info:
        deploy(build)
    assert isinstance(info.value, pulumi.RunError)
    assert not [r for r in monitor.registrations.values()
                if r.type.startswith("kubernetes:")], "objects registered for a bad spec"
    return info.value


def test_invalid_field_names_component_and_path() -> None:
    doc = copy.deepcopy(HF_TOKEN_IN_SPEC)
    doc["spec"]["model"]["id"] = "not a model id"
    err = failing(lambda: HuggingFaceInference("llama", {"spec": doc}))
    assert str(err).startswith(HF)
    assert "spec.model.id" in str(err) and "spec.model.id" in err.fields
    assert TOKEN not in str(err)


def test_unknown_field_is_reported_with_a_hint() -> None:
    doc = copy.deepcopy(CUSTOM_TOOLS)
    doc["spec"]["replica"] = {"min": 1}
    err = failing(lambda: CustomInference("app", {"spec": doc, "profile": "kai"}))
    assert str(err).startswith(CUSTOM)
    assert "spec.replica" in str(err) and "replicas" in str(err)


def test_profile_capability_missing_names_the_field_and_flag() -> None:
    err = failing(lambda: CustomInference("app", {"spec": CUSTOM_TOOLS}))  # default profile
    assert str(err).startswith(CUSTOM)
    assert err.fields == ("spec.storage[0].volume",)
    assert "kubernetes.podspec-persistent-volume-claim" in str(err)


def test_kind_mismatch() -> None:
    err = failing(lambda: CustomInference("app", {"spec": HF_TOKEN_IN_SPEC}))
    assert err.fields == ("kind",)
    assert "HuggingFaceInference" in str(err)


def test_unknown_argument() -> None:
    err = failing(lambda: CustomInference("app", {"spec": CUSTOM_TOOLS, "skipAwait": True}))
    assert err.fields == ("args.skipAwait",)


def test_token_for_a_spec_without_model() -> None:
    err = failing(lambda: CustomInference("app", InferenceArgs(spec=CUSTOM_TOOLS, profile="kai",
                                                               hf_token=TOKEN)))
    assert err.fields == ("args.hf_token",)
    assert TOKEN not in str(err)


def test_bad_namespace_output_fails_when_resolved() -> None:
    install()
    with pytest.raises(InferenceComponentError) as info:
        deploy(lambda: CustomInference("app", InferenceArgs(
            spec=CUSTOM_TOOLS, profile="kai", namespace=pulumi.Output.from_input("Bad_NS"))))
    assert str(info.value).startswith(CUSTOM)
    assert info.value.fields == ("args.namespace",)


def test_multi_document_file_needs_spec_name(tmp_path: Path) -> None:
    text = "\n---\n".join((REPO / "examples" / n).read_text()
                          for n in ("custom-http.yaml", "custom-grpc-fraction.yaml"))
    path = tmp_path / "two.yaml"
    path.write_text(text)
    err = failing(lambda: CustomInference("app", InferenceArgs(spec=path, profile="kai")))
    assert err.fields == ("args.spec",)
    assert "iris-classifier" in str(err) and "embedder" in str(err)
    assert "args.spec_name" in str(err)
    install()
    box = deploy(lambda: CustomInference("app", InferenceArgs(spec=path, profile="kai",
                                                              spec_name="embedder")))
    assert box["outputs"][0]["service_name"] == "embedder"


def test_missing_file_names_the_path() -> None:
    err = failing(lambda: CustomInference("app", InferenceArgs(spec="no/such/file.yaml")))
    assert "no/such/file.yaml" in str(err)
