"""Every rendered custom resource passes the real CRD schema, unknown fields rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from tests.helpers import EXAMPLES, example_profile, require_shared

CORE_KINDS = {("v1", "Secret"), ("v1", "Service"), ("v1", "PersistentVolumeClaim")}


def schema_problems(obj: dict[str, Any]) -> list[str]:
    from inference_sandbox.admission.schema import SchemaRegistry
    from inference_sandbox.resources import ResourceTable

    registry = SchemaRegistry.load(require_shared() / "schemas")
    group, _, version = obj["apiVersion"].rpartition("/")
    rt = ResourceTable().get(obj["apiVersion"], obj["kind"])
    schema = registry.for_type(rt, version)
    assert schema is not None, f"no CRD schema for {group}/{version} {obj['kind']}"
    return list(schema.unknown_fields(obj)) + [str(e) for e in schema.errors(obj)]


def _custom_resources(example: Path) -> list[dict[str, Any]]:
    profile = load_profile(example_profile(example))
    return [o for s in load_specs(example) for o in render(s, profile)
            if (o["apiVersion"], o["kind"]) not in CORE_KINDS]


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_custom_resources_pass_crd_schemas(example: Path) -> None:
    objs = _custom_resources(example)
    assert objs
    for obj in objs:
        assert schema_problems(obj) == [], f"{obj['kind']} {obj['metadata']['name']}"


def test_schema_check_catches_an_unknown_field() -> None:
    obj = _custom_resources(EXAMPLES[0])[0]
    obj["spec"]["template"]["spec"]["containers"][0]["gpus"] = 1
    assert any("gpus" in problem for problem in schema_problems(obj))
