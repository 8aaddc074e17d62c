"""Property tests: generated valid specs render deterministically, round-trip, and pass the
real CRD schemas."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import parse_spec
from tests.core.test_crd_schemas import CORE_KINDS, schema_problems

KAI = load_profile("kai")
names = st.from_regex(r"[a-z][a-z0-9]{0,20}", fullmatch=True)


@st.composite
def custom_specs(draw: st.DrawFn) -> dict[str, Any]:
    lo = draw(st.integers(0, 3))
    hi = draw(st.integers(max(lo, 1), 6))
    replicas: dict[str, Any] = {"min": lo, "max": hi}
    if lo != hi:
        replicas["autoscaling"] = {"metric": draw(st.sampled_from(["concurrency", "throughput"])),
                                   "target": draw(st.integers(1, 500))}
    if lo == 0 and draw(st.booleans()):
        replicas["scaleToZeroAfter"] = f"{draw(st.integers(0, 60))}m"
    compute: dict[str, Any] = {}
    gpu = draw(st.sampled_from(["none", "whole", "portion", "memory"]))
    if gpu == "whole":
        compute["gpuDevices"] = draw(st.integers(1, 8))
    elif gpu == "portion":
        compute["gpuPortion"] = {"request": draw(st.integers(1, 99))}
    elif gpu == "memory":
        compute["gpuMemory"] = {"request": f"{draw(st.integers(1, 80))}GB"}
    if draw(st.booleans()):
        compute["cpu"] = {"request": f"{draw(st.integers(1, 4000))}m"}
    if draw(st.booleans()):
        compute["memory"] = {"limit": f"{draw(st.integers(1, 512))}Gi"}
        compute["largeShm"] = draw(st.booleans())
    return {
        "kind": "CustomInference",
        "metadata": {"name": draw(names), "project": draw(names),
                     "labels": draw(st.dictionaries(names, names, max_size=3))},
        "spec": {
            "image": f"registry.local/{draw(names)}:{draw(st.integers(0, 99))}",
            "endpoint": {"protocol": draw(st.sampled_from(["http", "grpc"])),
                         "port": draw(st.integers(1024, 8000)),
                         "exposure": draw(st.sampled_from(["external", "cluster-local"]))},
            "replicas": replicas,
            "compute": compute,
            "priority": draw(st.sampled_from(["very-low", "low", "medium", "high",
                                              "very-high"])),
            "scheduling": {"tolerations": draw(st.lists(st.fixed_dictionaries({
                "key": names, "operator": st.just("Exists"),
                "effect": st.sampled_from(["NoSchedule", "Any"])}), max_size=2))},
        },
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(custom_specs())
def test_render_is_deterministic_and_roundtrips(doc: dict[str, Any]) -> None:
    spec = parse_spec(doc)
    first = render(spec, KAI)
    assert render(parse_spec(doc), KAI) == first
    again = parse_spec(spec.model_dump(by_alias=True, exclude_none=True, mode="json"))
    assert again == spec
    assert render(again, KAI) == first
    ann = first[-1 if first[-1]["kind"] == "Service" else 0]
    for obj in first:
        for key in ("labels", "annotations"):
            assert all(isinstance(v, str) for v in obj["metadata"].get(key, {}).values())
    assert ann["metadata"]["name"] == doc["metadata"]["name"]
    for obj in first:
        if (obj["apiVersion"], obj["kind"]) not in CORE_KINDS:
            assert schema_problems(obj) == [], obj["kind"]
