"""A Hugging Face token is only ever in one Secret's data, marked secret."""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from inference_core.render import HF_TOKEN_KEY
from pulumi_components import DistributedInference, HuggingFaceInference, InferenceArgs
from tests.pulumi.cases import DISTRIBUTED_TOKEN, HF_TOKEN_IN_SPEC, TOKEN
from tests.pulumi.harness import RecordingMonitor, as_text, deploy, install

HF_NO_TOKEN: dict[str, Any] = {
    "kind": "HuggingFaceInference", "metadata": {"name": "llm", "project": "team-a"},
    "spec": {"model": {"id": "meta-llama/Llama-3.2-1B"}, "compute": {"gpuDevices": 1}},
}


def assert_token_confined(monitor: RecordingMonitor, secret_child: str) -> None:
    encoded = base64.b64encode(TOKEN.encode()).decode()
    secret = monitor.registrations[secret_child]
    assert rpc.is_rpc_secret(secret.inputs["data"]), "Secret data is not marked secret"
    assert "data" in secret.additional_secret_outputs
    assert rpc.unwrap_rpc_secret(secret.inputs["data"]) == {HF_TOKEN_KEY: encoded}
    assert "redacted" not in as_text(secret.inputs["metadata"])
    for name, reg in monitor.registrations.items():
        if name != secret_child:
            text = as_text(reg.inputs)
            assert TOKEN not in text and encoded not in text, name
    for outputs in monitor.component_outputs:
        text = as_text(outputs)
        assert TOKEN not in text and encoded not in text


@pytest.mark.parametrize("as_secret", [True, False], ids=["pulumi-secret", "plain-string"])
def test_token_input_becomes_a_secret_only(as_secret: bool) -> None:
    monitor = install()
    token: Any = pulumi.Output.secret(TOKEN) if as_secret else TOKEN
    box = deploy(lambda: HuggingFaceInference("llm", InferenceArgs(spec=HF_NO_TOKEN,
                                                                    hf_token=token)))
    assert_token_confined(monitor, "llm-hf-token")
    serving = monitor.registrations["llm-service"].inputs
    env = serving["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "llm-hf-token", "key": "HF_TOKEN"}}} in env
    assert "llm-hf-token" in as_text(box["outputs"][0]["manifests"])
    assert monitor.registrations["llm-hf-token"].urn in \
        monitor.registrations["llm-service"].dependencies


def test_token_in_spec_is_handled_as_a_secret() -> None:
    monitor = install()
    deploy(lambda: HuggingFaceInference("gated", {"spec": HF_TOKEN_IN_SPEC}))
    assert_token_confined(monitor, "gated-hf-token")


def test_token_in_distributed_spec_is_handled_as_a_secret() -> None:
    monitor = install()
    deploy(lambda: DistributedInference("big", {"spec": DISTRIBUTED_TOKEN, "profile": "kai"}))
    assert_token_confined(monitor, "big-hf-token")


def test_secret_output_stays_secret_in_state() -> None:
    install()
    seen: dict[str, bool] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        comp = HuggingFaceInference("llm", InferenceArgs(spec=HF_NO_TOKEN, hf_token=TOKEN))
        secret = comp.resources["hf-token"]
        return pulumi.Output.from_input(secret.data.is_secret()).apply(  # type: ignore[attr-defined]
            lambda flag: seen.update(data=flag))

    program()
    assert seen == {"data": True}
