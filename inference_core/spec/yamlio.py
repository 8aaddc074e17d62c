"""Reading spec YAML safely and fast: bounded input, no duplicate keys, field positions.

libyaml (``CSafeLoader``) is used when PyYAML was built with it, the pure-Python
``SafeLoader`` otherwise; both are composed into nodes first so the same checks apply:

- the text is at most ``LIMITS.max_bytes`` long;
- no scalar is longer than ``LIMITS.max_scalar``;
- nesting is at most ``LIMITS.max_depth`` levels;
- aliases are counted (``LIMITS.max_aliases`` per document) and the size the document would
  have once every alias is expanded is bounded (``LIMITS.max_values``), so an alias bomb is
  refused in milliseconds instead of being expanded by validation or error formatting;
- a key repeated in one mapping is refused with the line of both occurrences.

``positions(node)`` maps each field path (``spec.compute.gpuDevices``) to its line and column,
computed only when a document has problems to report.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from inference_core.errors import FieldIssue, SpecError

try:
    from yaml import CSafeDumper as SafeDumper
    from yaml import CSafeLoader as SafeLoader
    LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper, SafeLoader  # type: ignore[assignment]
    LIBYAML = False

__all__ = ["LIBYAML", "LIMITS", "Limits", "ManifestDumper", "SafeDumper", "SafeLoader",
           "check_value", "iter_documents", "positions"]


class ManifestDumper(SafeDumper):
    """The dumper for rendered manifests: quotes every string a YAML 1.1 parser would read as
    something else. PyYAML already quotes ``yes``/``no``/``on``/``off``; Kubernetes' parser
    (sigs.k8s.io/yaml) also reads ``y`` and ``n`` as booleans, so a project named ``y`` would
    otherwise reach kubectl as ``namespace: true``."""


ManifestDumper.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


@dataclass(frozen=True)
class Limits:
    """Bounds on spec input (YAML text, or Python values from the other front doors)."""

    max_bytes: int = 32 * 2**20
    """Largest spec text, in bytes (about 50,000 typical specs)."""
    max_scalar: int = 256 * 2**10
    """Longest single value, in characters (Kubernetes' limit on all annotations together)."""
    max_depth: int = 32
    """Deepest nesting of mappings and lists (a spec needs about 8)."""
    max_aliases: int = 100
    """YAML alias references per document."""
    max_values: int = 100_000
    """Values in one document once every alias is expanded."""


LIMITS = Limits()


class _Refused(Exception):
    def __init__(self, node: Node | None, message: str, allowed: str,
                 value: Any = None, *, target: Any = None) -> None:
        super().__init__(message)
        self.node = node
        self.target = target
        self.message = message
        self.allowed = allowed
        self.value = value


_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}
_RESOLVED_MAX = 4096


@functools.cache
def _with_resolver_cache(loader: type[Any]) -> type[Any]:
    """``loader`` whose implicit tag resolution of short scalars is memoised.

    libyaml composes in C but resolves every plain scalar's tag with PyYAML's Python regexes;
    spec keys and values repeat across documents, so a small cache removes most of that work.
    Resolution depends only on the scalar's text and style with the safe loaders (no path
    resolvers), so the cache cannot change a result.
    """

    class Loader(loader):  # type: ignore[misc]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not ScalarNode or len(value) > 64:
                return super().resolve(kind, value, implicit)
            key = (value, implicit)
            tag = _RESOLVED.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < _RESOLVED_MAX:
                    _RESOLVED[key] = tag
            return tag

    return Loader


@dataclass
class RawDocument:
    """One composed YAML document: its index, the node tree and the constructed value."""

    index: int
    node: Node
    data: Any


def iter_documents(text: str, *, source: str | None = None) -> Iterator[RawDocument]:
    """Compose, check and construct each document of ``text``.

    Raises ``SpecError`` (naming the limit, line and column) at the first refused document:
    nothing of an over-limit or ambiguous file is validated.
    """
    size = len(text)
    if size * 4 > LIMITS.max_bytes:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > LIMITS.max_bytes:
        raise SpecError([FieldIssue(
            "(file)", "is larger than the spec size limit", f"{size:,} bytes",
            f"at most {LIMITS.max_bytes:,} bytes", "split the specs into several files",
            source=source)])
    loader = _with_resolver_cache(SafeLoader)(text)
    index = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except RecursionError:
                raise SpecError([FieldIssue(
                    "(yaml)", "nests too deeply", None,
                    f"at most {LIMITS.max_depth} levels", document=index,
                    source=source)]) from None
            except yaml.YAMLError as err:
                raise SpecError([_yaml_issue(err, index, source)]) from None
            if node is None:  # pragma: no cover - check_node said there is one
                return
            try:
                data = _check_and_build(node, loader)
                if data is _UNUSUAL:
                    data = loader.construct_document(node)
            except _Refused as refused:
                raise SpecError([_refused_issue(refused, node, index, source)]) from None
            except yaml.YAMLError as err:
                raise SpecError([_yaml_issue(err, index, source)]) from None
            except ValueError as err:  # e.g. an integer with more digits than Python prints
                raise SpecError([FieldIssue("(yaml)", f"holds a value that cannot be read: "
                                            f"{str(err)[:120]}", document=index,
                                            source=source)]) from None
            yield RawDocument(index, node, data)
            index += 1
    finally:
        loader.dispose()


def _yaml_issue(err: yaml.YAMLError, index: int, source: str | None) -> FieldIssue:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if "maximum nesting depth" in str(problem):
        return FieldIssue("(yaml)", "nests too deeply", None,
                          f"at most {LIMITS.max_depth} levels", document=index,
                          source=source, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None)
    return FieldIssue("(yaml)", f"is not valid YAML: {problem}", document=index, source=source,
                      line=mark.line + 1 if mark else None,
                      column=mark.column + 1 if mark else None)


def _refused_issue(refused: _Refused, root: Node, index: int,
                   source: str | None) -> FieldIssue:
    path = _path_of(root, refused.node) if refused.node is not None else None
    mark = refused.node.start_mark if refused.node is not None else None
    return FieldIssue(path or "(document)", refused.message, refused.value, refused.allowed,
                      document=index, source=source,
                      line=mark.line + 1 if mark else None,
                      column=mark.column + 1 if mark else None)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_SCALARS = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                  "tag:yaml.org,2002:float")


class _Unusual(Exception):
    """A tag or key the fast builder leaves to PyYAML's constructor (merge keys, timestamps,
    binary, sets, complex keys)."""


def _check_and_build(root: Node, loader: Any) -> Any:
    """Check limits and duplicate keys of one composed document, building its value on the
    way (aliases visited and built once, shared as PyYAML shares them).

    Raises ``_Refused`` for a limit or duplicate key; returns ``_UNUSUAL`` when the document
    uses YAML features the builder leaves to PyYAML's own constructor.
    """
    sizes: dict[int, int] = {}
    built: dict[int, Any] = {}
    active: set[int] = set()
    aliases = 0
    unusual = False
    limits = LIMITS
    scalar_constructors = loader.yaml_constructors

    def visit(node: Node, depth: int) -> int:
        nonlocal aliases, unusual
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            aliases += 1
            if aliases > limits.max_aliases:
                raise _Refused(node, "uses too many YAML aliases",
                               f"at most {limits.max_aliases} alias references per document")
            return known
        if key in active:
            raise _Refused(node, "refers to itself through a YAML alias",
                           "a value that does not contain itself")
        if depth > limits.max_depth:
            raise _Refused(node, "nests too deeply", f"at most {limits.max_depth} levels")
        tag = node.tag
        if isinstance(node, ScalarNode):
            value = node.value
            if len(value) > limits.max_scalar:
                raise _Refused(node, "is longer than the value size limit",
                               f"at most {limits.max_scalar:,} characters",
                               f"{len(value):,} characters")
            if tag == _STR:
                built[key] = value
            elif tag in _PLAIN_SCALARS and not unusual:
                built[key] = scalar_constructors[tag](loader, node)
            else:
                unusual = True
            sizes[key] = 1
            return 1
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += visit(child, depth + 1)
            if tag != _SEQ:
                unusual = True
            if not unusual:
                built[key] = [built[id(child)] for child in node.value]
        elif isinstance(node, MappingNode):
            seen: dict[tuple[str, str], Node] = {}
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.tag != _MERGE:
                    first = seen.get((k.tag, k.value))
                    if first is not None:
                        raise _Refused(k, f"repeats the key {_short(k.value)} first given at "
                                       f"line {first.start_mark.line + 1}",
                                       "each key once per mapping")
                    seen[(k.tag, k.value)] = k
                else:
                    unusual = True
                total += visit(k, depth + 1) + visit(v, depth + 1)
            if tag != _MAP:
                unusual = True
            if not unusual:
                try:
                    built[key] = {built[id(k)]: built[id(v)] for k, v in node.value}
                except TypeError:  # an unhashable key: PyYAML explains it
                    unusual = True
        active.discard(key)
        if total > limits.max_values:
            raise _Refused(node, "expands to too many values (YAML aliases)",
                           f"at most {limits.max_values:,} values per document",
                           f"{total:,} values")
        sizes[key] = total
        return total

    visit(root, 0)
    return _UNUSUAL if unusual else built[id(root)]


_UNUSUAL = object()


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _key_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else "?"


def _path_of(root: Node, target: Node | None) -> str | None:
    """The field path of ``target`` in ``root`` (first occurrence), '' for the root."""
    seen: set[int] = set()

    def find(node: Node, path: str) -> str | None:
        if node is target:
            return path
        if id(node) in seen:
            return None
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                found = find(child, f"{path}[{i}]")
                if found is not None:
                    return found
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                sub = f"{path}.{_key_text(k)}" if path else _key_text(k)
                if k is target:
                    return sub
                found = find(v, sub)
                if found is not None:
                    return found
        return None

    return find(root, "")


def positions(root: Node) -> dict[str, tuple[int, int]]:
    """1-based (line, column) of each field path of a document (keys of mappings, items of
    lists), first occurrence only."""
    out: dict[str, tuple[int, int]] = {}
    seen: set[int] = set()

    def walk(node: Node, path: str) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                sub = f"{path}[{i}]"
                out.setdefault(sub, (child.start_mark.line + 1, child.start_mark.column + 1))
                walk(child, sub)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                sub = f"{path}.{_key_text(k)}" if path else _key_text(k)
                out.setdefault(sub, (k.start_mark.line + 1, k.start_mark.column + 1))
                walk(v, sub)

    walk(root, "")
    return out


def check_value(data: Any, *, document: int | None = None, source: str | None = None) -> None:
    """The same limits for a Python value (a spec given as a dict by Airflow or Pulumi).

    Raises ``SpecError`` naming the limit and the path of the offending value (the path is
    only worked out for the value refused, so a valid spec costs one plain walk).
    """
    limits = LIMITS
    sizes: dict[int, int] = {}
    active: set[int] = set()
    containers = (dict, list, tuple)

    def visit(value: Any, depth: int) -> int:
        if isinstance(value, str):
            if len(value) > limits.max_scalar:
                raise _Refused(None, "is longer than the value size limit",
                               f"at most {limits.max_scalar:,} characters",
                               f"{len(value):,} characters", target=value)
            return 1
        if not isinstance(value, containers):
            return 1
        key = id(value)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in active:
            raise _Refused(None, "contains itself", "a value that does not contain itself",
                           target=value)
        if depth > limits.max_depth:
            raise _Refused(None, "nests too deeply", f"at most {limits.max_depth} levels",
                           target=value)
        active.add(key)
        total = 1
        if isinstance(value, dict):
            for k, v in value.items():
                total += visit(k, depth + 1) + visit(v, depth + 1)
        else:
            for v in value:
                total += visit(v, depth + 1)
        active.discard(key)
        if total > limits.max_values:
            raise _Refused(None, "has too many values", f"at most {limits.max_values:,} values",
                           f"{total:,} values", target=value)
        sizes[key] = total
        return total

    try:
        visit(data, 0)
    except _Refused as refused:
        path = _value_path(data, refused.target) or "(document)"
        raise SpecError([FieldIssue(path, refused.message, refused.value, refused.allowed,
                                    document=document, source=source)]) from None


def _value_path(data: Any, target: Any) -> str | None:
    """Path of the first occurrence of ``target`` (by identity) in ``data``."""
    seen: set[int] = set()

    def find(value: Any, path: str) -> str | None:
        if value is target:
            return path
        if not isinstance(value, dict | list | tuple) or id(value) in seen:
            return None
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            sub = f"{path}[{k}]" if not isinstance(value, dict) else (
                f"{path}.{k}" if path else str(k))
            if k is target:
                return sub
            found = find(v, sub)
            if found is not None:
                return found
        return None

    return find(data, "")
