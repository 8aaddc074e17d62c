"""Field-by-field merging of document layers, remembering where each value came from.

Layers are merged from the lowest precedence (policy defaults) to the highest (the spec):
mappings merge key by key, lists of named items (``env``, ``storage``, ``tools``,
``extendedResources``) merge item by item on ``name``, anything else is replaced whole.
``Merged.sources`` maps the path of every value set to the label of the layer that set it;
``source_of(path)`` answers for any path (the nearest recorded ancestor), or None when the
value is a built-in default.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from inference_core.policy.paths import child

NAMED_LISTS = ("env", "storage", "tools", "extendedResources")


@dataclass
class Merged:
    """A document being assembled from layers, with the source of each value."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def add(self, layer: dict[str, Any], label: str, prefix: str = "") -> None:
        """Merge ``layer`` (rooted at ``prefix``) over what is there, field by field."""
        target = self._container(prefix)
        _merge(target, layer, label, self.sources, prefix)

    def put(self, path_parts: list[str | int], value: Any, label: str) -> None:
        """Set one value (replacing what is there) and record its source."""
        target: Any = self.data
        prefix = ""
        for part in path_parts[:-1]:
            target = target[part] if isinstance(part, int) else target.setdefault(part, {})
            prefix = child(prefix, part)
        last = path_parts[-1]
        target[last] = copy.deepcopy(value)
        path = child(prefix, last)
        self._forget(path)
        _record(self.sources, path, value, label)

    def source_of(self, path: str) -> str | None:
        """The label of the layer that set ``path`` (or an ancestor), None for built-ins."""
        probe = path
        while probe:
            if probe in self.sources:
                return self.sources[probe]
            probe = _parent(probe)
        return None

    def _container(self, prefix: str) -> dict[str, Any]:
        target: Any = self.data
        for part in [p for p in prefix.split(".") if p]:
            target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise TypeError(f"{prefix} is not a mapping")
        return target

    def _forget(self, path: str) -> None:
        for key in [k for k in self.sources if k.startswith((path + ".", path + "["))]:
            del self.sources[key]


def _merge(target: dict[str, Any], layer: dict[str, Any], label: str,
           sources: dict[str, str], prefix: str) -> None:
    for key, value in layer.items():
        path = child(prefix, key)
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict) and key not in (
                "labels", "annotations"):
            _merge(current, value, label, sources, path)
        elif isinstance(value, dict) and isinstance(current, dict):
            current.update(copy.deepcopy(value))
            for name in value:
                sources[f"{path}.{name}"] = label
        elif key in NAMED_LISTS and isinstance(current, list) and _named(value) \
                and _named(current):
            for item in value:
                index = next((i for i, old in enumerate(current)
                              if old.get("name") == item.get("name")), None)
                if index is None:
                    current.append(copy.deepcopy(item))
                    _record(sources, child(path, len(current) - 1), item, label)
                else:
                    _merge(current[index], item, label, sources, child(path, index))
        elif key in target and current == value:
            continue  # the same value: the earlier layer keeps the credit
        else:
            target[key] = copy.deepcopy(value)
            for old in [k for k in sources if k.startswith((path + ".", path + "["))]:
                del sources[old]
            _record(sources, path, value, label)


def _record(sources: dict[str, str], path: str, value: Any, label: str) -> None:
    """Credit ``label`` with every value under ``path`` (leaves, so later layers can take
    single fields over)."""
    if isinstance(value, dict) and value and not path.endswith(("labels", "annotations")):
        for key, item in value.items():
            _record(sources, child(path, str(key)), item, label)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _record(sources, child(path, i), item, label)
    else:
        sources[path] = label


def _named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""
