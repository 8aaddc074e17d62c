"""Comparing what a stack applied with what ``infstack render`` produces, on the live cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from inference_core.profile import ClusterProfile, load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from inference_core.spec.loader import AnySpec
from inference_core.spec.quantities import parse_quantity
from tests.helpers import EXAMPLES, example_profile
from tests.kubehttp import KubeHttp, object_path

COMPONENT_ANNOTATIONS = {"pulumi.com/skipAwait": "true"}
"""What the component adds to the rendered serving object and Services: the provider must not
wait, the component waits with the core's readiness (docs/pulumi.md)."""

def _example_namespaces() -> tuple[str, ...]:
    namespaces = {load_profile(example_profile(path)).namespace_for(spec.metadata.project)
                  for path in EXAMPLES for spec in load_specs(path)}
    return tuple(sorted(namespaces))


TEAMS = _example_namespaces()
"""Namespaces of the example specs, each under the profile its first line names."""


def prerequisites(token: str) -> list[dict[str, Any]]:
    """What the examples reference but do not create: the ``hf-credentials`` Secret
    (``tokenSecret``) and custom-http's ``iris-config`` ConfigMap, in every team namespace."""
    out: list[dict[str, Any]] = []
    for ns in TEAMS:
        out.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": "hf-credentials", "namespace": ns},
                    "stringData": {"HF_TOKEN": token}})
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "iris-config", "namespace": ns},
                    "data": {"model-uri": "s3://models/iris"}})
    return out


def _same_scalar(want: Any, got: Any) -> bool:
    if want == got:
        return True
    if isinstance(want, str | int) and isinstance(got, str | int) and \
            not isinstance(want, bool) and not isinstance(got, bool):
        try:  # the API server prints quantities canonically ("20GB" → "20G", 1 → "1")
            return parse_quantity(want) == parse_quantity(got)
        except (ValueError, InvalidOperation, ArithmeticError):
            return str(want) == str(got)
    if isinstance(want, float) and isinstance(got, int | float | Decimal):
        return float(want) == float(got)
    return False


def differences(want: Any, got: Any, path: str = "") -> list[str]:
    """Where ``got`` (live) does not contain ``want`` (rendered); fields the server added
    (defaults, status, metadata it owns) are not differences."""
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return [f"{path}: expected an object, live has {got!r}"]
        out: list[str] = []
        for key, value in want.items():
            if key not in got:
                out.append(f"{path}.{key}: missing on the live object")
            else:
                out += differences(value, got[key], f"{path}.{key}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: expected {len(want)} items, live has {got!r}"[:300]]
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True))
                for d in differences(w, g, f"{path}[{i}]")]
    return [] if _same_scalar(want, got) else [f"{path}: rendered {want!r}, live {got!r}"]


def rendered(specs: Iterable[AnySpec], profile: ClusterProfile) -> list[dict[str, Any]]:
    """``infstack render`` for every spec (token Secrets redacted: their value is compared
    elsewhere), with what the component adds to the serving object."""
    out = []
    for spec in specs:
        for obj in render(spec, profile, include_secret_values=False):
            if obj["kind"] in ("Service", "LeaderWorkerSet"):
                obj["metadata"].setdefault("annotations", {}).update(COMPONENT_ANNOTATIONS)
            out.append(obj)
    return out


def live_differences(http: KubeHttp, objects: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Per object (``Kind ns/name``), where the live object does not contain the rendered one."""
    out: dict[str, list[str]] = {}
    for obj in objects:
        name = f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        response = http.get(object_path(obj))
        if response.status_code != 200:
            out[name] = [f"GET answered {response.status_code}"]
            continue
        want = dict(obj)
        if obj["kind"] == "Secret":  # the value is the token: compare everything else
            want = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
            want["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "annotations"}
        found = differences(want, response.json())
        if found:
            out[name] = found
    return out


def existing(http: KubeHttp, objects: Iterable[dict[str, Any]]) -> list[str]:
    """Which of ``objects`` still exist."""
    return [f"{o['kind']} {o['metadata'].get('namespace')}/{o['metadata']['name']}"
            for o in objects if http.get(object_path(o)).status_code == 200]
