"""Loading policies and assets from files and directories into a ``Library``.

A path may be a YAML file (several documents allowed) or a directory (every ``*.yaml`` /
``*.yml`` below it, in sorted order). Every problem of every document is reported at once,
each with its file and document index, in one ``SpecError``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from inference_core.errors import FieldIssue, SpecError
from inference_core.policy import paths
from inference_core.policy.documents import (
    ASSET_KINDS,
    ASSET_MODELS,
    POLICY_KIND,
    Asset,
    InferencePolicy,
)
from inference_core.spec.kinds import API_VERSION

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Located:
    """Where a document came from: ``file#index`` in messages."""

    source: str
    document: int

    def __str__(self) -> str:
        return f"{self.source}#{self.document}"


@dataclass
class Library:
    """Every policy and asset known to a run, with where each came from."""

    policies: list[tuple[InferencePolicy, Located]] = field(default_factory=list)
    assets: dict[tuple[str, str], tuple[Asset, Located]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.policies or self.assets)

    def asset(self, kind: str, name: str) -> tuple[Asset, Located] | None:
        """The asset of ``kind`` named ``name``, or None."""
        return self.assets.get((kind, name))

    def asset_names(self, kind: str) -> list[str]:
        """Names of the assets of one kind."""
        return sorted(n for k, n in self.assets if k == kind)

    def extend(self, other: Library) -> None:
        """Add another library's documents (duplicates are checked by ``load_library``)."""
        self.policies.extend(other.policies)
        self.assets.update(other.assets)


def load_library(*groups: Iterable[PathLike] | None) -> Library:
    """Load every policy and asset document found in the given files and directories."""
    files: list[Path] = []
    issues: list[FieldIssue] = []
    for group in groups:
        for ref in group or ():
            path = Path(ref)
            if path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                               and p.is_file())
                if not found:
                    issues.append(FieldIssue("(directory)", "holds no YAML file",
                                             source=str(path),
                                             allowed="*.yaml files with policies or assets"))
                files.extend(found)
            elif path.is_file():
                files.append(path)
            else:
                issues.append(FieldIssue("(file)", "does not exist", source=str(path)))
    library = Library()
    seen_policies: dict[str, Located] = {}
    for file in dict.fromkeys(files):
        for index, data in _documents(file, issues):
            where = Located(str(file), index)
            doc = _parse(data, where, issues)
            if doc is None:
                continue
            name = doc.metadata.name
            if isinstance(doc, InferencePolicy):
                if name in seen_policies:
                    issues.append(_dup(where, "InferencePolicy", name, seen_policies[name]))
                    continue
                seen_policies[name] = where
                library.policies.append((doc, where))
                issues.extend(_check_policy(doc, where))
            else:
                key = (doc.kind, name)
                if key in library.assets:
                    issues.append(_dup(where, doc.kind, name, library.assets[key][1]))
                    continue
                library.assets[key] = (doc, where)
    if issues:
        raise SpecError(issues)
    return library


def read_yaml_documents(path: Path, *, positions: bool = False) -> list[Any]:
    """(index, value) of each non-empty document of a YAML file, read with the spec loader's
    reader (size, depth and alias limits, duplicate keys refused); with ``positions``,
    (index, value, field positions). Raises ``SpecError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise SpecError([FieldIssue("(file)", f"cannot be read: {reason}",
                                    source=str(path))]) from None
    if positions:
        return read_yaml_positions(text, source=str(path))
    return read_yaml_text(text, source=str(path))


def read_yaml_text(text: str, *, source: str) -> list[tuple[int, Any]]:
    """(index, value) of each non-empty document of YAML text (see ``read_yaml_documents``)."""
    return [(index, data) for index, data, _ in read_yaml_positions(text, source=source)]


def read_yaml_positions(text: str, *, source: str
                        ) -> list[tuple[int, Any, dict[str, tuple[int, int]] | None]]:
    """(index, value, lazy field positions) of each non-empty document of YAML text; the
    positions (path -> line, column) are computed by calling the third item."""
    try:
        from inference_core.spec.yamlio import iter_documents, positions
    except ImportError:  # pragma: no cover - older spec package without the safe reader
        return [(i, d, None) for i, d in _plain_documents(text, source)]
    return [(d.index, d.data, _Positions(d.node, positions))
            for d in iter_documents(text, source=source) if d.data is not None]


class _Positions(dict[str, tuple[int, int]]):
    """Field positions of a document, computed on first use (only documents with problems
    need them)."""

    def __init__(self, node: Any, compute: Any) -> None:
        super().__init__()
        self._node = node
        self._compute = compute
        self._done = False

    def __missing__(self, key: str) -> tuple[int, int]:
        self._fill()
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return dict.__contains__(self, key)

    def _fill(self) -> None:
        if not self._done:
            self._done = True
            self.update(self._compute(self._node))


def _plain_documents(text: str, source: str) -> list[tuple[int, Any]]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise SpecError([FieldIssue("(yaml)", f"is not valid YAML at {where}: "
                                    f"{getattr(err, 'problem', err)}", source=source)]) from err
    return [(i, d) for i, d in enumerate(docs) if d is not None]


def _documents(file: Path, issues: list[FieldIssue]) -> list[tuple[int, Any]]:
    try:
        return read_yaml_documents(file)
    except SpecError as err:
        issues.extend(err.issues)
        return []


def _parse(data: Any, where: Located, issues: list[FieldIssue]) -> InferencePolicy | Asset | None:
    def issue(path: str, message: str, value: Any = None, allowed: str | None = None,
              hint: str | None = None) -> FieldIssue:
        return FieldIssue(path, message, value, allowed, hint, document=where.document,
                          source=where.source)

    if not isinstance(data, Mapping):
        issues.append(issue("(document)", "must be a mapping", type(data).__name__,
                            "apiVersion, kind, metadata, ..."))
        return None
    kind = data.get("kind")
    known = (POLICY_KIND, *ASSET_KINDS)
    if data.get("apiVersion", API_VERSION) != API_VERSION:
        issues.append(issue("apiVersion", "is not supported", data.get("apiVersion"),
                            API_VERSION))
        return None
    if kind not in known:
        close = difflib.get_close_matches(str(kind), known, n=1)
        hint = f"did you mean {close[0]}?" if close else None
        if kind in ("CustomInference", "HuggingFaceInference", "DistributedInference"):
            hint = "workload specs are the command's FILE arguments, not policies or assets"
        issues.append(issue("kind", "is not a policy or asset kind", kind, ", ".join(known),
                            hint))
        return None
    reported = {i.path for i in _literal_secrets(data, issue)} if kind == "Credential" else set()
    if reported:
        issues.extend(_literal_secrets(data, issue))
    model = InferencePolicy if kind == POLICY_KIND else ASSET_MODELS[str(kind)]
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        for e in err.errors(include_url=False):
            loc = [p for p in e["loc"] if isinstance(p, int) or not _INTERNAL.search(p)]
            path = _loc_path(loc)
            if path in reported:
                continue  # one mistake, one message (a union reports each member)
            reported.add(path)
            message = "is not a known field" if e["type"] == "extra_forbidden" else e["msg"]
            value = None if e["type"] in ("missing", "extra_forbidden") else e.get("input")
            if isinstance(value, dict | list):
                value = None
            issues.append(issue(path, message, value))
        return None


# Location parts pydantic adds for union members and validators, never field names.
_INTERNAL = re.compile(r"^(int|str|float|bool|none|dict|list|tuple)$|^[A-Z]|[(']"
                       r"|^(dict|list|tuple|set|literal|function-\w+|constrained-\w+)(\[|$)")


def _loc_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else part)
    return out or "(document)"


def _literal_secrets(data: Mapping[str, Any], issue: Any) -> list[FieldIssue]:
    spec = data.get("spec")
    if not isinstance(spec, Mapping):
        return []
    found = []
    for key in ("value", "password", "token", "apiKey", "data", "stringData"):
        for where, holder in (("spec", spec), ("spec.secret", spec.get("secret"))):
            if isinstance(holder, Mapping) and key in holder:
                found.append(issue(f"{where}.{key}", "a credential never holds the secret "
                                   "value", "<hidden>", "spec.type and spec.secret (name, key)",
                                   "create the Secret in the namespace (kubectl create secret) "
                                   "and refer to it by name"))
    return found


def _check_policy(policy: InferencePolicy, where: Located) -> list[FieldIssue]:
    issues = []
    for path, rule in policy.rules.items():
        if (not path.startswith(("spec.", "metadata.")) or paths.join(paths.split(path)) != path
                or not paths.exists_in_any_kind(path)):
            issues.append(FieldIssue(f"rules.{path}", "is not a field of any workload kind",
                                     allowed="a camelCase field path such as "
                                     "spec.compute.gpuDevices", document=where.document,
                                     source=where.source))
            continue
        for bound, value in (("min", rule.min), ("max", rule.max)):
            problem = paths.bound_problem(path, value)
            if problem:
                issues.append(FieldIssue(f"rules.{path}.{bound}", problem, value,
                                         document=where.document, source=where.source))
        if rule.options is not None and not rule.options:
            issues.append(FieldIssue(f"rules.{path}.options", "allows no value", [],
                                     "one or more values", document=where.document,
                                     source=where.source))
    defaults = paths.camel_keys(policy.defaults)
    for path, _ in paths.leaves(defaults):
        if not paths.exists_in_any_kind(path):
            issues.append(FieldIssue(f"defaults.{path}", "is not a field of any workload kind",
                                     document=where.document, source=where.source))
    return issues


def _dup(where: Located, kind: str, name: str, first: Located) -> FieldIssue:
    return FieldIssue("metadata.name", f"another {kind} has this name ({first})", name,
                      f"unique {kind} names", document=where.document, source=where.source)
