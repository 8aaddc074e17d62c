"""What a kubelet checks before it can start a container: the Secrets and ConfigMaps its
environment refers to, and the pod's QoS class.

A missing object or key is the kubelet's ``CreateContainerConfigError`` (``secret
"hf-credentials" not found``, ``couldn't find key token in Secret team-a/hf``); a reference
marked ``optional: true`` is skipped as the kubelet does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Lookup = Callable[[str, str], "Mapping[str, Any] | None"]
"""(kind ``Secret``/``ConfigMap``, name) → the object in the pod's namespace, or None."""


def _keys(obj: Mapping[str, Any]) -> set[str]:
    keys = set((obj.get("data") or {}).keys()) | set((obj.get("stringData") or {}).keys())
    return keys | set((obj.get("binaryData") or {}).keys())


def container_config_error(container: Mapping[str, Any], namespace: str,
                           lookup: Lookup) -> str | None:
    """The kubelet's message when ``container``'s environment cannot be built, else None."""
    for source in container.get("envFrom") or []:
        for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = source.get(field)
            if ref and not ref.get("optional") and lookup(kind, ref.get("name", "")) is None:
                return f'{kind.lower()} "{ref.get("name", "")}" not found'
    for env in container.get("env") or []:
        value_from = env.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            ref = value_from.get(field)
            if not ref or ref.get("optional"):
                continue
            name, key = ref.get("name", ""), ref.get("key", "")
            obj = lookup(kind, name)
            if obj is None:
                return f'{kind.lower()} "{name}" not found'
            if key not in _keys(obj):
                return f"couldn't find key {key} in {kind} {namespace}/{name}"
    return None


def missing_volume_source(pod: Mapping[str, Any], lookup: Lookup) -> tuple[str, str] | None:
    """(volume name, message) of the first Secret/ConfigMap volume whose object is missing:
    the kubelet cannot mount it and the pod stays ``ContainerCreating`` (``FailedMount``)."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        for field, kind, name_key in (("secret", "Secret", "secretName"),
                                      ("configMap", "ConfigMap", "name")):
            source = volume.get(field)
            if source and not source.get("optional") and \
                    lookup(kind, source.get(name_key, "")) is None:
                return volume.get("name", ""), \
                    f'{kind.lower()} "{source.get(name_key, "")}" not found'
    return None


def _quantity_present(resources: Mapping[str, Any], section: str, name: str) -> bool:
    value = (resources.get(section) or {}).get(name)
    return value is not None and str(value) not in ("0", "")


def qos_class(spec: Mapping[str, Any]) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort`` as the API server computes it from the
    containers' (and init containers') cpu/memory requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        limits = {k: str(v) for k, v in (resources.get("limits") or {}).items()}
        requests = {k: str(v) for k, v in (resources.get("requests") or {}).items()}
        for name in ("cpu", "memory"):
            if _quantity_present(resources, "requests", name) or \
                    _quantity_present(resources, "limits", name):
                any_set = True
            unequal = name in requests and name in limits and \
                _normal(requests[name]) != _normal(limits[name])
            if name not in limits or unequal:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _normal(quantity: str) -> float:
    """A quantity as a number (enough to compare a request with a limit)."""
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
                "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "P": 1e15, "E": 1e18}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if quantity.endswith(suffix):
            try:
                return float(quantity[:-len(suffix)]) * suffixes[suffix]
            except ValueError:
                return float("nan")
    try:
        return float(quantity)
    except ValueError:
        return float("nan")

