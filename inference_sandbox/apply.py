"""Server-side apply with field managers (a faithful subset of structured-merge-diff).

Ownership is tracked per leaf field path, in ``metadata.managedFields`` (``FieldsV1``).
Lists are atomic, except lists of named items in core kinds (``containers``, ``env`` ...)
which merge by ``name``. Conflicts name the manager and path exactly like the API server:
``Apply failed with 1 conflict: conflict with "mgr" using v1: .spec.replicas``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from inference_sandbox.apierrors import ApiError
from inference_sandbox.objects import clone

Path = tuple[str, ...]

_UNMANAGED_META = {"name", "namespace", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "managedFields", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "selfLink"}


@dataclass
class ManagerEntry:
    """One ``managedFields`` entry."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str = ""
    paths: set[Path] = field(default_factory=set)

    @property
    def ident(self) -> tuple[str, str, str]:
        """(manager, operation, subresource)."""
        return (self.manager, self.operation, self.subresource)

    def describe(self) -> str:
        """How the API server prints a manager in conflict messages."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
            if self.time:
                text += f" at {self.time}"
        return text


def _keyed(value: list[Any], keyed_lists: bool) -> bool:
    return keyed_lists and bool(value) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in value)


def _item_key(name: str) -> str:
    return "k:" + json.dumps({"name": name}, separators=(",", ":"))


def leaves(value: Any, keyed_lists: bool, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Leaf field paths of ``value`` with their values."""
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            yield from leaves(sub, keyed_lists, (*prefix, f"f:{key}"))
    elif isinstance(value, list) and _keyed(value, keyed_lists):
        for item in value:
            item_prefix = (*prefix, _item_key(item["name"]))
            yield (*item_prefix, "f:name"), item["name"]
            rest = {k: v for k, v in item.items() if k != "name"}
            yield from leaves(rest, keyed_lists, item_prefix) if rest else iter(())
    else:
        yield prefix, value


def managed_view(obj: dict[str, Any] | None, subresource: str, has_status: bool
                 ) -> dict[str, Any]:
    """The part of an object whose fields are managed for this (sub)resource."""
    if not obj:
        return {}
    if subresource == "status":
        return {"status": obj["status"]} if obj.get("status") is not None else {}
    out = {k: v for k, v in obj.items()
           if k not in ("apiVersion", "kind") and not (has_status and k == "status")}
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _UNMANAGED_META}
    if md:
        out["metadata"] = md
    else:
        out.pop("metadata", None)
    return out


def path_text(path: Path) -> str:
    """``.spec.containers[name="app"].image``."""
    out = ""
    for element in path:
        if element.startswith("f:"):
            out += "." + element[2:]
        else:
            key = json.loads(element[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]"
    return out


def _related(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def parse_managed(obj: dict[str, Any] | None) -> list[ManagerEntry]:
    """``metadata.managedFields`` → entries with path sets."""
    entries = []
    for raw in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        paths: set[Path] = set()
        _collect(raw.get("fieldsV1") or {}, (), paths)
        entries.append(ManagerEntry(raw.get("manager", ""), raw.get("operation", "Update"),
                                    raw.get("apiVersion", ""), raw.get("time", ""),
                                    raw.get("subresource", ""), paths))
    return entries


def _collect(tree: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    children = {k: v for k, v in tree.items() if k != "."}
    if not children:
        if prefix:
            out.add(prefix)
        return
    for key, sub in children.items():
        _collect(sub, (*prefix, key), out)


def render_managed(entries: list[ManagerEntry]) -> list[dict[str, Any]]:
    """Entries → ``metadata.managedFields`` list (empty entries dropped)."""
    out = []
    for entry in entries:
        if not entry.paths:
            continue
        tree: dict[str, Any] = {}
        for path in sorted(entry.paths):
            node = tree
            for element in path:
                node = node.setdefault(element, {})
                if element.startswith("k:"):
                    node.setdefault(".", {})
        raw: dict[str, Any] = {"manager": entry.manager, "operation": entry.operation,
                               "apiVersion": entry.api_version, "time": entry.time,
                               "fieldsType": "FieldsV1", "fieldsV1": tree}
        if entry.subresource:
            raw["subresource"] = entry.subresource
        out.append(raw)
    return out


def _delete_path(obj: dict[str, Any], path: Path) -> None:
    """Remove one leaf and prune containers it leaves empty."""
    trail: list[tuple[Any, Any]] = []
    node: Any = obj
    for element in path:
        if element.startswith("f:") and isinstance(node, dict) and element[2:] in node:
            trail.append((node, element[2:]))
            node = node[element[2:]]
        elif element.startswith("k:") and isinstance(node, list):
            name = json.loads(element[2:]).get("name")
            index = next((i for i, it in enumerate(node)
                          if isinstance(it, dict) and it.get("name") == name), None)
            if index is None:
                return
            trail.append((node, index))
            node = node[index]
        else:
            return
    for container, key in reversed(trail):
        target = container[key]
        removable = (target is node) or target in ({}, []) or (
            isinstance(target, dict) and set(target) == {"name"} and isinstance(container, list))
        if not removable:
            break
        del container[key]
        node = None


def merge_applied(live: Any, applied: Any, keyed_lists: bool) -> Any:
    """Overlay an applied configuration on the live object."""
    if isinstance(applied, dict):
        result = clone(live) if isinstance(live, dict) else {}
        for key, value in applied.items():
            result[key] = merge_applied(result.get(key), value, keyed_lists)
        return result
    if isinstance(applied, list) and isinstance(live, list) and _keyed(applied, keyed_lists) \
            and _keyed(live, keyed_lists):
        by_name = {item["name"]: item for item in live}
        merged = [merge_applied(by_name.get(item["name"]), item, keyed_lists) for item in applied]
        applied_names = {item["name"] for item in applied}
        return merged + [clone(item) for item in live if item["name"] not in applied_names]
    return clone(applied)


def apply_config(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str,
                 force: bool, api_version: str, now: str, keyed_lists: bool,
                 subresource: str = "", has_status: bool = False) -> dict[str, Any]:
    """Server-side apply ``applied`` over ``live``; returns the new object (with managedFields).

    Raises the API server's 409 ``Conflict`` unless ``force``.
    """
    entries = parse_managed(live)
    applied_view = managed_view(applied, subresource, has_status)
    live_view = managed_view(live, subresource, has_status)
    applied_leaves = dict(leaves(applied_view, keyed_lists))
    live_leaves = dict(leaves(live_view, keyed_lists))
    me = (manager, "Apply", subresource)
    conflicts: list[tuple[ManagerEntry, Path]] = []
    for path, value in applied_leaves.items():
        if path in live_leaves and live_leaves[path] == value:
            continue
        for entry in entries:
            if entry.ident == me:
                continue
            for owned in entry.paths:
                if _related(owned, path):
                    conflicts.append((entry, owned))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for entry, owned in conflicts:
        entry.paths.discard(owned)
    previous = next((e for e in entries if e.ident == me), None)
    result = clone(live) if live else {}
    if previous is not None:
        still_owned: set[Path] = set()
        for entry in entries:
            if entry.ident != me:
                still_owned |= entry.paths
        for path in previous.paths - set(applied_leaves):
            if path not in still_owned and not any(_related(path, p) for p in applied_leaves):
                _delete_path(result, path)
    merged = merge_applied(result, applied_view, keyed_lists)
    if previous is None:
        previous = ManagerEntry(manager, "Apply", api_version, now, subresource)
        entries.append(previous)
    previous.paths = set(applied_leaves)
    previous.time = now
    previous.api_version = api_version
    merged.setdefault("metadata", {})["managedFields"] = render_managed(entries)
    return merged


def record_update(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str,
                  api_version: str, now: str, keyed_lists: bool, subresource: str = "",
                  has_status: bool = False) -> None:
    """Give ``manager`` (operation Update) the fields it changed; writes managedFields in place."""
    entries = parse_managed(old) if old else []
    old_leaves = dict(leaves(managed_view(old, subresource, has_status), keyed_lists))
    new_leaves = dict(leaves(managed_view(new, subresource, has_status), keyed_lists))
    changed = {p for p, v in new_leaves.items() if old_leaves.get(p, object()) != v}
    removed = set(old_leaves) - set(new_leaves)
    me = (manager, "Update", subresource)
    for entry in entries:
        entry.paths -= removed
        if entry.ident != me:
            entry.paths = {p for p in entry.paths if p not in changed and p in new_leaves}
    if changed:
        mine = next((e for e in entries if e.ident == me), None)
        if mine is None:
            mine = ManagerEntry(manager, "Update", api_version, now, subresource)
            entries.append(mine)
        mine.paths |= changed
        mine.time = now
        mine.api_version = api_version
    new.setdefault("metadata", {})["managedFields"] = render_managed(entries)


def _conflict_error(conflicts: list[tuple[ManagerEntry, Path]]) -> ApiError:
    unique: dict[tuple[str, Path], tuple[ManagerEntry, Path]] = {}
    for entry, path in conflicts:
        unique.setdefault((entry.describe(), path), (entry, path))
    items = list(unique.values())
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": path_text(p)} for e, p in items]
    if len(items) == 1:
        entry, path = items[0]
        message = (f"Apply failed with 1 conflict: conflict with {entry.describe()}: "
                   f"{path_text(path)}")
    else:
        by_manager: dict[str, list[Path]] = {}
        for entry, path in items:
            by_manager.setdefault(entry.describe(), []).append(path)
        lines = []
        for name in sorted(by_manager):
            lines.append(f"conflicts with {name}:")
            lines.extend(f"- {path_text(p)}" for p in by_manager[name])
        message = f"Apply failed with {len(items)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, details={"causes": causes})
