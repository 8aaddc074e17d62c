"""Parse API paths into (resource, version, namespace, name, subresource)."""

from __future__ import annotations

from dataclasses import dataclass

from inference_sandbox.apierrors import ApiError
from inference_sandbox.resources import ResourceTable, ResourceType

SUBRESOURCES = {"status", "scale", "log"}


@dataclass(frozen=True)
class ResourcePath:
    """A request path that names a resource (collection, object or subresource)."""

    rt: ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


def _not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    details={"causes": [{"reason": "UnexpectedServerResponse",
                                         "message": f"404 page not found: {path}"}]})


def parse(table: ResourceTable, path: str) -> ResourcePath | None:
    """``None`` for discovery paths; raises 404 for unknown resources."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _not_found(path)
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    rt = table.by_path(group, version, rest[0])
    if rt is None:
        raise _not_found(path)
    if namespace is not None and not rt.namespaced:
        raise _not_found(path)
    if len(rest) > 3:
        raise _not_found(path)
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and (sub not in SUBRESOURCES or (sub == "status" and not rt.status)
                            or (sub == "scale" and not rt.scale)
                            or (sub == "log" and rt.kind != "Pod")):
        raise _not_found(path)
    return ResourcePath(rt, version, namespace, name, sub)
