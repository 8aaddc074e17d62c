"""The children a component registers are exactly the renderer's manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inference_core.profile import load_profile
from inference_core.render import render, serving_object
from inference_core.spec import load_specs, parse_spec
from inference_core.spec.loader import AnySpec
from pulumi_components import InferenceArgs, component_for
from pulumi_components.children import role_of
from tests.pulumi.cases import EXTRA, example_cases
from tests.pulumi.harness import RecordingMonitor, deploy, install, plain

TYPED = {("v1", "Secret"): "kubernetes:core/v1:Secret",
         ("v1", "Service"): "kubernetes:core/v1:Service",
         ("v1", "PersistentVolumeClaim"): "kubernetes:core/v1:PersistentVolumeClaim"}
AWAIT = {"Service": "condition=Ready", "LeaderWorkerSet": "condition=Available"}


def type_token(obj: dict[str, Any]) -> str:
    key = (obj["apiVersion"], obj["kind"])
    return TYPED.get(key, f"kubernetes:{key[0]}:{key[1]}")


def check_parity(monitor: RecordingMonitor, name: str, spec: AnySpec, profile_name: str,
                 outputs: dict[str, Any]) -> None:
    profile = load_profile(profile_name)
    expected = render(spec, profile, include_secret_values=True)
    children = monitor.children(name)
    assert len(children) == len(expected), sorted(children)
    names = [f"{name}-{role_of(obj, spec.metadata.name)}" for obj in expected]
    for obj, child_name in zip(expected, names, strict=True):
        reg = children[child_name]
        assert reg.type == type_token(obj)
        assert plain(reg.inputs) == obj, child_name
    serving = serving_object(expected)
    annotations = serving["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == AWAIT[serving["kind"]]
    timeout = spec.spec.general.initialization_timeout
    default = 600 if spec.kind == "CustomInference" else 1800
    assert annotations["pulumi.com/timeoutSeconds"] == str((timeout or default) + 120)
    # The serving object waits for the Secrets/PVCs rendered before it.
    serving_reg = children[names[expected.index(serving)]]
    before = [children[n].urn for n in names[:expected.index(serving)]]
    assert set(before) <= set(serving_reg.dependencies)
    # The manifests output is the redacted rendering.
    assert plain(outputs["manifests"]) == render(spec, profile)


@pytest.mark.parametrize(("path", "profile"), example_cases(), ids=lambda v: getattr(v, "name", v))
def test_every_example_registers_the_rendered_objects(path: Path, profile: str) -> None:
    monitor = install()
    spec = load_specs(path)[0]
    cls = component_for(spec.kind)
    box = deploy(lambda: cls(f"{spec.metadata.name}", InferenceArgs(spec=str(path),
                                                                      profile=profile)))
    check_parity(monitor, spec.metadata.name, spec, profile, box["outputs"][0])


@pytest.mark.parametrize(("case", "doc", "profile"), EXTRA, ids=[c[0] for c in EXTRA])
def test_extra_cases_register_the_rendered_objects(case: str, doc: dict[str, Any],
                                                   profile: str) -> None:
    monitor = install()
    spec = parse_spec(doc)
    cls = component_for(spec.kind)
    box = deploy(lambda: cls(case, {"spec": doc, "profile": profile}))
    check_parity(monitor, case, spec, profile, box["outputs"][0])


def test_component_type_tokens_and_child_parents() -> None:
    monitor = install()
    path, profile = example_cases()[0]
    spec = load_specs(path)[0]
    deploy(lambda: component_for(spec.kind)("wl", InferenceArgs(spec=path, profile=profile)))
    assert monitor.registrations["wl"].type == f"inference-stacks:index:{spec.kind}"
    assert monitor.children("wl")  # every child is parented to the component
    assert all(r.parent == monitor.registrations["wl"].urn
               for n, r in monitor.registrations.items() if n.startswith("wl-"))
