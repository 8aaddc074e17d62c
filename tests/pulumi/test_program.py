"""The stack program runs under mocks with the shipped Pulumi.dev.yaml and exports outputs."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config

from inference_core.profile import load_profile
from inference_core.render import endpoints
from inference_core.spec import load_specs, parse_documents
from tests.helpers import REPO
from tests.pulumi.cases import TOKEN
from tests.pulumi.harness import as_text, install

PROGRAM = REPO / "pulumi_program" / "__main__.py"


def stack_config() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    return dict(data["config"])


@pytest.fixture
def configured() -> Iterator[dict[str, Any]]:
    config = stack_config()
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    values["inference-stacks:hfToken"] = TOKEN
    set_all_config(values, ["inference-stacks:hfToken"])
    yield config
    set_all_config({}, [])


def camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(p.capitalize() for p in rest)


def test_program_exports_every_workload(configured: dict[str, Any]) -> None:
    monitor = install()
    exported: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        outputs = settings.get_root_resource().outputs  # type: ignore[union-attr]
        return pulumi.Output.all(**outputs).apply(exported.update)

    program()
    profile = load_profile(configured["inference-stacks:profile"])
    specs = [s for p in configured["inference-stacks:specs"] for s in load_specs(REPO / p)]
    specs += parse_documents(configured["inference-stacks:inlineSpecs"])
    assert len(specs) == 4
    for spec in specs:
        key = camel(spec.metadata.name)
        ends = endpoints(spec, profile)
        assert exported[f"{key}Url"] == ends.url
        assert exported[f"{key}InternalUrl"] == ends.internal_url
        assert exported[f"{key}ServiceName"] == ends.service_name
        assert exported[f"{key}Namespace"] == profile.namespace_for(spec.metadata.project)
        assert exported[f"{key}Ready"] is True
        assert exported["workloads"][spec.metadata.name]["kind"] == spec.kind
    # hfToken reaches the model specs that name no token (not llama-405b: tokenSecret).
    tokens = {n for n in monitor.registrations if n.endswith("-hf-token")}
    assert tokens == {"tiny-chat-hf-token", "qwen-chat-hf-token"}
    for name, reg in monitor.registrations.items():
        if not name.endswith("-hf-token"):
            assert TOKEN not in as_text(reg.inputs), name


def test_program_preflight_pins_the_model_revision(hub: Any) -> None:
    """``inference-stacks:preflight: true`` deploys the pinned spec (the Hub emulator stands
    in for the Hub: its public small model is the example's tiny-chat model)."""
    config = stack_config()
    values = {"inference-stacks:profile": "kai", "inference-stacks:preflight": "true",
              "inference-stacks:inlineSpecs": json.dumps(config["inference-stacks:inlineSpecs"])}
    set_all_config(values, [])
    try:
        monitor = install()

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def program() -> Any:
            runpy.run_path(str(PROGRAM), run_name="__main__")

        program()
    finally:
        set_all_config({}, [])
    model = config["inference-stacks:inlineSpecs"][0]["spec"]["model"]["id"]
    service = monitor.registrations["tiny-chat-service"].inputs
    args = service["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--revision") + 1] == hub.repos[model].refs["main"]
    assert [r.path for r in hub.requests if model in r.path]
