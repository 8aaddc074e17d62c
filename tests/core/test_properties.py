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
            "image": f"registry.local/img-{draw(names)}:{draw(st.integers(0, 99))}",
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


# Names near and past every limit: accepted specs must render objects Kubernetes accepts.
long_names = st.from_regex(r"[a-z]([a-z0-9-]{0,70}[a-z0-9])?", fullmatch=True)
label_keys = st.one_of(names, st.from_regex(r"[a-z]{1,30}\.[a-z]{2,5}/[A-Za-z0-9]{1,70}",
                                            fullmatch=True))
label_values = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,70}[A-Za-z0-9])?)?",
                             fullmatch=True)


@st.composite
def edge_specs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    kind = draw(st.sampled_from(["CustomInference", "HuggingFaceInference",
                                 "DistributedInference"]))
    metadata = {"name": draw(long_names), "project": draw(long_names),
                "labels": draw(st.dictionaries(label_keys, label_values, max_size=3)),
                "annotations": draw(st.dictionaries(label_keys, st.text(max_size=40),
                                                    max_size=3))}
    storage = [{"name": draw(st.from_regex(r"[a-z][a-z0-9]{0,45}", fullmatch=True)),
                "path": "/data", "volume": {"size": "1Gi"}}] if draw(st.booleans()) else []
    if kind == "CustomInference":
        spec: dict[str, Any] = {
            "image": "registry.local/app:1", "storage": storage,
            "tools": [{"name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,16}", fullmatch=True)),
                       "port": 9000}] if draw(st.booleans()) else []}
    elif kind == "HuggingFaceInference":
        spec = {"model": {"id": "org/model"}, "storage": storage}
    else:
        spec = {"model": {"id": "org/big"},
                "leader": {"compute": {"gpuDevices": 1}, "storage": storage},
                "workers": {"count": 1, "compute": {"gpuDevices": 1}}}
    return {"kind": kind, "metadata": metadata, "spec": spec}, draw(st.sampled_from(
        ["kai", "runai"]))


def _kubernetes_accepts_metadata(obj: dict[str, Any]) -> list[str]:
    from inference_core.spec import k8s_names

    problems = []
    meta = obj["metadata"]
    if k8s_names.dns_label(meta["name"]):
        problems.append(f"name {meta['name']!r}")
    if "namespace" in meta and k8s_names.dns_label(meta["namespace"]):
        problems.append(f"namespace {meta['namespace']!r}")
    templates = [obj]
    spec = obj.get("spec", {})
    if "template" in spec:
        templates.append(spec["template"])
    lwt = spec.get("leaderWorkerTemplate", {})
    templates += [lwt[k] for k in ("leaderTemplate", "workerTemplate") if k in lwt]
    for holder in templates:
        m = holder.get("metadata", {})
        for key, value in m.get("labels", {}).items():
            if k8s_names.qualified_name(key) or k8s_names.label_value(value):
                problems.append(f"label {key}={value!r}")
        annotations = m.get("annotations", {})
        for key in annotations:
            if k8s_names.qualified_name(key):
                problems.append(f"annotation key {key!r}")
        if k8s_names.annotations_size(annotations) > k8s_names.TOTAL_ANNOTATION_SIZE:
            problems.append("annotations too large")
    return problems


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_specs())
def test_every_accepted_spec_renders_names_and_metadata_kubernetes_accepts(
        case: tuple[dict[str, Any], str]) -> None:
    from inference_core.errors import ProfileError, SpecError

    doc, profile = case
    try:
        objects = render(parse_spec(doc), load_profile(profile))
    except (SpecError, ProfileError):
        return  # refused before any manifest exists: fine
    for obj in objects:
        assert _kubernetes_accepts_metadata(obj) == [], (obj["kind"], obj["metadata"])
