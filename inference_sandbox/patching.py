"""Merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic-merge-patch subset."""

from __future__ import annotations

from typing import Any

from inference_sandbox.apierrors import ApiError, bad_request
from inference_sandbox.objects import clone

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

#: Merge keys of core-type lists for strategic merge patch (field name → key).
STRATEGIC_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
    "conditions": "type", "ownerReferences": "uid", "tolerations": "key",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Merge patch where known core lists merge by key (``containers`` by ``name`` ...).

    Supports ``$patch: delete`` on list items and ``$retainKeys``-free patches only.
    """
    if isinstance(patch, list) and isinstance(target, list) and field in STRATEGIC_KEYS:
        key = STRATEGIC_KEYS[field]
        result = [clone(item) for item in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                return clone(patch)
            index = next((i for i, cur in enumerate(result)
                          if isinstance(cur, dict) and cur.get(key) == item[key]), None)
            if item.get("$patch") == "delete":
                if index is not None:
                    result.pop(index)
                continue
            if index is None:
                result.append(clone(item))
            else:
                result[index] = strategic_merge_patch(result[index], item)
        return result
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value, key)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"the server rejected our request due to an error in our request: "
                          f"invalid JSON pointer {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _container(doc: Any, tokens: list[str], op: str, path: str) -> tuple[Any, str]:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            raise _patch_error(f"{op} operation does not apply: doc is missing path: {path!r}")
    return current, tokens[-1]


def _patch_error(message: str) -> ApiError:
    return ApiError(422, "Invalid", f"the server rejected our request due to an error in our "
                    f"request: {message}")


def _get(doc: Any, path: str) -> Any:
    current = doc
    for token in _pointer(path):
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            raise _patch_error(f"doc is missing path: {path!r}")
    return current


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 ``add/remove/replace/move/copy/test``."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = clone(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "test":
            if _get(doc, path) != op.get("value"):
                raise _patch_error(f"testing value {path} failed")
            continue
        if kind in ("move", "copy"):
            value = clone(_get(doc, op["from"]))
            if kind == "move":
                doc = _apply_one(doc, "remove", op["from"], None)
            doc = _apply_one(doc, "add", path, value)
            continue
        if kind not in ("add", "remove", "replace"):
            raise bad_request(f"Unexpected kind: {kind}")
        doc = _apply_one(doc, kind, path, clone(op.get("value")))
    return doc


def _apply_one(doc: Any, kind: str, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value if kind != "remove" else None
    parent, last = _container(doc, tokens, kind, path)
    if isinstance(parent, dict):
        if kind in ("remove", "replace") and last not in parent:
            raise _patch_error(f"{kind} operation does not apply: doc is missing key: {path}")
        if kind == "remove":
            del parent[last]
        else:
            parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and kind == "add":
            parent.append(value)
        elif last.isdigit():
            index = int(last)
            if kind == "add" and index <= len(parent):
                parent.insert(index, value)
            elif kind != "add" and index < len(parent):
                if kind == "remove":
                    parent.pop(index)
                else:
                    parent[index] = value
            else:
                raise _patch_error(f"{kind} operation does not apply: index out of range: {path}")
        else:
            raise _patch_error(f"{kind} operation does not apply: invalid index {last!r}")
    else:
        raise _patch_error(f"{kind} operation does not apply: doc is missing path: {path}")
    return doc
