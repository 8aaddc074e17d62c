"""Small helpers on JSON-like Kubernetes objects (copying, paths, conditions, owner refs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]


def clone(value: Any) -> Any:
    """Fast deep copy of JSON data (dicts, lists, scalars)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj["metadata"]`` (empty dict when absent)."""
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's labels."""
    return meta(obj).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's annotations."""
    return meta(obj).get("annotations") or {}


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``dig(o, "spec", "template", "spec")`` without KeyErrors."""
    current = obj
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return default
        elif not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return default if current is None else current


def short_hash(value: Any, length: int = 10) -> str:
    """Deterministic hex digest of JSON data."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:length]


def owner_ref(owner: Mapping[str, Any], *, controller: bool = True) -> dict[str, Any]:
    """An ``ownerReferences`` entry pointing at ``owner``."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta(owner)["name"],
        "uid": meta(owner)["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def find_condition(obj: Mapping[str, Any], ctype: str) -> dict[str, Any] | None:
    """``status.conditions[type == ctype]``."""
    for cond in dig(obj, "status", "conditions", default=[]):
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def set_condition(conditions: list[dict[str, Any]], ctype: str, status: str, *,
                  reason: str = "", message: str = "", now: str,
                  extra: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Return ``conditions`` with ``ctype`` set; ``lastTransitionTime`` moves only on change."""
    out = []
    found = False
    for cond in conditions:
        if cond.get("type") != ctype:
            out.append(cond)
            continue
        found = True
        new = {"type": ctype, "status": status}
        if reason:
            new["reason"] = reason
        if message:
            new["message"] = message
        if extra:
            new.update(extra)
        new["lastTransitionTime"] = (
            cond.get("lastTransitionTime", now) if cond.get("status") == status else now
        )
        out.append(new)
    if not found:
        new = {"type": ctype, "status": status, "lastTransitionTime": now}
        if reason:
            new["reason"] = reason
        if message:
            new["message"] = message
        if extra:
            new.update(extra)
        out.append(new)
    return out


def strip_nulls(value: Any) -> Any:
    """Drop ``None`` values from dicts (the API server prunes nulls of non-nullable fields)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def gpu_request(pod_spec: Mapping[str, Any]) -> int:
    """Whole ``nvidia.com/gpu`` devices a pod spec asks for (limits win over requests)."""
    total = 0
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        value = (resources.get("limits") or {}).get("nvidia.com/gpu")
        if value is None:
            value = (resources.get("requests") or {}).get("nvidia.com/gpu")
        if value is not None:
            try:
                total += int(str(value))
            except ValueError:
                continue
    return total
