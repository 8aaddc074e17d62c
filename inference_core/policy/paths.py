"""Field paths (``spec.compute.gpuDevices``, ``spec.storage[0].path``) over documents as dicts.

Policies and provenance speak in the camelCase paths users write in YAML. This module parses
them, reads values at them, normalizes snake_case keys, and finds the spec field behind a
path (to know whether it exists for a kind and which units its values use).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from inference_core.spec.kinds import KINDS
from inference_core.spec.quantities import parse_cpu, parse_duration, parse_memory

WILDCARD = "[]"
_PART = re.compile(r"([^.\[\]]+)|\[(\d*|\*)\]")
# Mappings whose keys are user data (label keys...), never field names.
_FREE_FORM = ("labels", "annotations")


def split(path: str) -> list[str | int]:
    """``spec.storage[0].path`` -> ``["spec", "storage", 0, "path"]``; ``[]``/``[*]`` -> "[]"."""
    parts: list[str | int] = []
    for match in _PART.finditer(path):
        name, index = match.groups()
        if name is not None:
            parts.append(name)
        elif index in ("", "*"):
            parts.append(WILDCARD)
        else:
            parts.append(int(index))
    return parts


def join(parts: list[str | int]) -> str:
    """The inverse of ``split``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == WILDCARD:
            out += "[]"
        else:
            out += ("." if out else "") + part
    return out


def child(path: str, key: str | int) -> str:
    """``path`` extended by one key or index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def camel_keys(data: Any) -> Any:
    """A copy of ``data`` with snake_case field names turned camelCase (label keys kept)."""
    if isinstance(data, dict):
        return {(to_camel(k) if isinstance(k, str) and "_" in k and k not in _FREE_FORM
                 else k): (dict(v) if k in _FREE_FORM and isinstance(v, dict) else camel_keys(v))
                for k, v in data.items()}
    if isinstance(data, list):
        return [camel_keys(v) for v in data]
    return data


def values_at(data: Any, parts: list[str | int], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (concrete path, value) the path reaches; missing fields yield ``None``."""
    if not parts:
        yield prefix, data
        return
    head, rest = parts[0], parts[1:]
    if head == WILDCARD:
        for i, item in enumerate(data if isinstance(data, list) else []):
            yield from values_at(item, rest, child(prefix, i))
    elif isinstance(head, int):
        item = data[head] if isinstance(data, list) and head < len(data) else None
        yield from values_at(item, rest, child(prefix, head))
    else:
        value = data.get(head) if isinstance(data, dict) else None
        yield from values_at(value, rest, child(prefix, head))


def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every scalar or scalar list in a nested dict/list structure."""
    if isinstance(data, dict) and data and not prefix.endswith(_FREE_FORM):
        for key, value in data.items():
            yield from leaves(value, child(prefix, str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            yield from leaves(value, child(prefix, i))
    else:
        yield prefix, data


def field_annotation(kind: str, parts: list[str | int]) -> tuple[bool, Any]:
    """(exists, annotation) of the field at ``parts`` in the workload model of ``kind``."""
    return _field_annotation(kind, tuple(WILDCARD if isinstance(p, int) else p for p in parts))


@functools.lru_cache(maxsize=4096)
def _field_annotation(kind: str, parts: tuple[str, ...]) -> tuple[bool, Any]:
    current: Any = KINDS.get(kind)
    annotation: Any = current
    for part in parts:
        if isinstance(part, int) or part == WILDCARD:
            annotation = _item_of(annotation)
            if annotation is None:
                return False, None
            current = _model_of(annotation)
            continue
        if current is None or not (isinstance(current, type) and issubclass(current, BaseModel)):
            return (True, None) if _is_free_form(annotation) else (False, None)
        field = next((f for n, f in current.model_fields.items()
                      if part in (n, f.alias)), None)
        if field is None:
            return False, None
        annotation = field.annotation
        if field.metadata:
            annotation = _Annotated(annotation, tuple(field.metadata))
        current = _model_of(annotation)
    return True, annotation


def exists_in_any_kind(path: str) -> bool:
    """Whether some workload kind has the field at ``path``."""
    parts = split(path)
    return any(field_annotation(kind, parts)[0] for kind in KINDS)


def parser_for(kind: str, parts: list[str | int]) -> Callable[[Any], Any] | None:
    """The unit parser of a quantity field (memory, CPU, duration), else None."""
    return _parser_for(kind, tuple(WILDCARD if isinstance(p, int) else p for p in parts))


@functools.lru_cache(maxsize=4096)
def _parser_for(kind: str, parts: tuple[str, ...]) -> Callable[[Any], Any] | None:
    _, annotation = _field_annotation(kind, parts)
    found: list[Callable[[Any], Any]] = []
    _collect_parsers(annotation, found, depth=0)
    return found[0] if found else None


class _Annotated:
    """A field annotation with its pydantic metadata (validators) kept together."""

    def __init__(self, inner: Any, metadata: tuple[Any, ...]) -> None:
        self.inner = inner
        self.metadata = metadata


def _collect_parsers(annotation: Any, found: list[Callable[[Any], Any]], depth: int) -> None:
    if annotation is None or depth > 6:
        return
    metadata = getattr(annotation, "__metadata__", ()) or getattr(annotation, "metadata", ())
    for meta in metadata:
        func = getattr(meta, "func", None)
        if func in (parse_memory, parse_cpu, parse_duration):
            found.append(func)
            return
    inner = getattr(annotation, "inner", None)
    if inner is not None:
        _collect_parsers(inner, found, depth + 1)
    for arg in getattr(annotation, "__args__", ()):
        _collect_parsers(arg, found, depth + 1)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and metadata:
        _collect_parsers(origin, found, depth + 1)


def _unwrap(annotation: Any) -> Any:
    return annotation.inner if isinstance(annotation, _Annotated) else annotation


def _item_of(annotation: Any) -> Any:
    annotation = _unwrap(annotation)
    if getattr(annotation, "__origin__", None) is list:
        return annotation.__args__[0]
    for arg in getattr(annotation, "__args__", ()):
        if getattr(arg, "__origin__", None) is list:
            return arg.__args__[0]
    return None


def _is_free_form(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    return getattr(annotation, "__origin__", None) is dict


def _model_of(annotation: Any) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def bound_problem(path: str, bound: Any) -> str | None:
    """Why ``bound`` cannot be a min/max of the field at ``path`` (None when it can): it must
    be a number, or a quantity in the field's units (memory, CPU, duration)."""
    if bound is None:
        return None
    parts = split(path)
    for kind in KINDS:
        if not field_annotation(kind, parts)[0]:
            continue
        parser = parser_for(kind, parts)
        if parser is not None:
            try:
                parser(bound)
            except ValueError as err:
                return f"is not a quantity of this field: {err}"
            return None
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            return "must be a number for this field"
        return None
    return None
