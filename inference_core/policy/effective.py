"""The effective spec: a workload document with its assets loaded and its policies applied.

Every front door calls one function of this module — the CLI ``load_effective_specs``
(files), Airflow and Pulumi ``effective_spec`` (one dict or spec object) — so a spec means
the same thing everywhere. Order, lowest precedence first:

1. built-in defaults of sections the spec leaves out (e.g. Hugging Face compute);
2. policy defaults (least specific scope first);
3. the assets the spec loads (environment, compute resource, data sources);
4. the spec itself, field by field;
5. locked fields (``canEdit: false``) and imposed data sources; credentials resolved;
6. validation (types, ranges, cross-field rules), then the policy rules.

All problems (spec, asset, policy) are reported together in one ``SpecError``, each with
the file, document index and field, before anything talks to a cluster.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from inference_core.errors import FieldIssue, SpecError
from inference_core.policy import assets as asset_refs
from inference_core.policy import enforce
from inference_core.policy.library import (
    Library,
    load_library,
    read_yaml_documents,
    read_yaml_text,
)
from inference_core.policy.merge import Merged
from inference_core.policy.paths import camel_keys
from inference_core.profile import ClusterProfile, load_profile
from inference_core.spec import AnySpec, load_specs, parse_spec
from inference_core.spec.kinds import (
    KINDS,
)
from inference_core.spec.yamlio import check_value

PathLike = str | os.PathLike[str]
ProfileRef = ClusterProfile | Mapping[str, Any] | str | os.PathLike[str] | None
BUILTIN = "built-in default"
SPEC = "spec"


@dataclass
class Effective:
    """One resolved document: the spec (None when invalid), sources and applied policies."""

    spec: AnySpec | None
    merged: Merged
    policies: list[enforce.Applied] = field(default_factory=list)
    issues: list[FieldIssue] = field(default_factory=list)
    document: int | None = None
    source: str | None = None
    profile: ClusterProfile | None = None

    def source_of(self, path: str) -> str:
        """Where the value at ``path`` came from: ``spec``, ``asset KIND/NAME``, ``policy NAME
        default``, ``policy NAME (cannot be edited)``, ``policy NAME (imposed)``,
        ``credential``..., or ``default`` (built-in or cluster profile)."""
        found = self.merged.source_of(path)
        return "default" if found in (None, BUILTIN) else found


def library_for(profile: ProfileRef, policy_paths: Iterable[PathLike] = (),
                asset_paths: Iterable[PathLike] = ()) -> Library:
    """The policies and assets of a run: those the cluster profile lists plus the given ones.

    Relative paths in a profile file are relative to that file.
    """
    prof = load_profile(profile)
    base = Path(profile).parent if isinstance(profile, str | os.PathLike) and Path(
        profile).suffix in (".yaml", ".yml") else Path.cwd()
    from_profile: list[Path] = []
    missing: list[FieldIssue] = []
    where = str(profile) if isinstance(profile, str | os.PathLike) else prof.name
    for field_name, listed in (("policies", prof.policies), ("assets", prof.assets)):
        for i, entry in enumerate(listed):
            path = Path(entry) if Path(entry).is_absolute() else base / entry
            if not path.exists():
                missing.append(FieldIssue(f"{field_name}[{i}]", "names no file or directory",
                                          str(path), hint="paths are relative to the profile "
                                          "file", source=f"profile {where}"))
            from_profile.append(path)
    if missing:
        raise SpecError(missing)
    return load_library(from_profile, policy_paths, asset_paths)


def load_effective_specs(files: PathLike | Sequence[PathLike], profile: ProfileRef = None,
                         policy_paths: Iterable[PathLike] = (),
                         asset_paths: Iterable[PathLike] = (), *,
                         library: Library | None = None) -> list[AnySpec]:
    """Every spec of the given files with assets loaded and policies applied.

    The one loader of the CLI commands (``validate``, ``render``, ``deploy``...): problems of
    all files, documents, assets and policies are raised together in one ``SpecError``.
    """
    return [e.spec for e in resolve_files(files, profile, policy_paths, asset_paths,
                                          library=library) if e.spec is not None]


def load_effective_located(files: PathLike | Sequence[PathLike], profile: ProfileRef = None,
                           policy_paths: Iterable[PathLike] = (),
                           asset_paths: Iterable[PathLike] = ()) -> list[tuple[str, int, AnySpec]]:
    """(file, document index, spec) of every document, as ``load_effective_specs`` resolves
    them: for commands that report per document."""
    return [(e.source or "", e.document or 0, e.spec)
            for e in resolve_files(files, profile, policy_paths, asset_paths)
            if e.spec is not None]


def resolve_files(files: PathLike | Sequence[PathLike], profile: ProfileRef = None,
                  policy_paths: Iterable[PathLike] = (), asset_paths: Iterable[PathLike] = (),
                  *, library: Library | None = None) -> list[Effective]:
    """Like ``load_effective_specs`` but keeps each value's source (for ``infstack explain``)."""
    prof = load_profile(profile)
    lib = library if library is not None else library_for(profile, policy_paths, asset_paths)
    file_list = [files] if isinstance(files, str | os.PathLike) else list(files)
    results: list[Effective] = []
    issues: list[FieldIssue] = []
    for file in file_list:
        try:
            results.extend(_resolve_file(Path(file), prof, lib))
        except SpecError as err:
            issues.extend(err.issues)
    issues.extend(_duplicate_names(results))
    if issues:
        raise SpecError(issues)
    return results


def effective_spec(data: Mapping[str, Any] | AnySpec, profile: ProfileRef = None, *,
                   policies: Iterable[PathLike] = (), assets: Iterable[PathLike] = (),
                   library: Library | None = None) -> AnySpec:
    """One spec (a dict as in YAML, or a spec object) with assets loaded and policies applied.

    The entry point of the Airflow operators and the Pulumi components. With no policies or
    assets (none given, none in the profile) it is ``parse_spec``.
    """
    lib = library if library is not None else library_for(profile, policies, assets)
    if not lib:
        return parse_spec(data)
    result = resolve(data, load_profile(profile), lib)
    if result.issues or result.spec is None:
        raise SpecError(result.issues)
    return result.spec


def effective_specs(value: Any, profile: ProfileRef = None, *,
                    policies: Iterable[PathLike] = (), assets: Iterable[PathLike] = (),
                    library: Library | None = None, field: str = "spec") -> list[AnySpec]:
    """Every spec ``value`` holds, with assets loaded and policies applied: the one entry
    point of the Airflow operators and the Pulumi components.

    ``value`` takes every form the front doors accept: a spec object, a dict, a list of
    those, a YAML file path or YAML text (``inference_core.rollout.inputs`` decides which a
    string is). Policies and assets are those the profile lists plus ``policies``/``assets``
    (files or directories). With none, this is exactly ``resolve_spec_inputs``.
    """
    from inference_core.rollout.inputs import looks_like_yaml_text, resolve_spec_inputs

    lib = library if library is not None else library_for(profile, policies, assets)
    if not lib:
        return list(resolve_spec_inputs(value, field=field))
    prof = load_profile(profile)
    if isinstance(value, str) and looks_like_yaml_text(value):
        results = [resolve(d, prof, lib, document=i, source="(inline YAML)")
                   for i, d in read_yaml_text(value, source="(inline YAML)")]
        issues = [i for r in results for i in r.issues] + _duplicate_names(results)
        if issues:
            raise SpecError(issues)
        return [r.spec for r in results if r.spec is not None]
    if isinstance(value, str | os.PathLike):
        path = Path(value).expanduser()
        if not path.is_file():
            raise SpecError([FieldIssue(field, "names no readable file", str(path),
                                        "a spec object, a dict, a YAML file path or YAML "
                                        "text")])
        return load_effective_specs(path, prof, library=lib)
    items = list(value) if isinstance(value, list | tuple) else [value]
    specs: list[AnySpec] = []
    issues = []
    for item in items:
        if not isinstance(item, Mapping | BaseModel):
            issues.append(FieldIssue(field, "has an unsupported type", type(item).__name__,
                                     "a spec object, a dict, a YAML file path or YAML text"))
            continue
        result = resolve(item, prof, lib)
        issues.extend(result.issues)
        if result.spec is not None:
            specs.append(result.spec)
    if issues:
        raise SpecError(issues)
    return specs


def resolve(data: Mapping[str, Any] | BaseModel, profile: ClusterProfile, library: Library, *,
            document: int | None = None, source: str | None = None) -> Effective:
    """Resolve one document; never raises for bad input (issues are in the result)."""
    here = _Locator(document, source)
    if isinstance(data, BaseModel):
        raw: Any = data.model_dump(by_alias=True, exclude_unset=True)
    else:
        try:  # the spec loader's input limits, before anything walks the value
            check_value(data, document=document, source=source)
        except SpecError as err:
            return Effective(None, Merged(), [], list(err.issues), document, source, profile)
        raw = copy.deepcopy(dict(data)) if isinstance(data, Mapping) else data
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS or not isinstance(
            (raw.get("metadata") or {}).get("project") if isinstance(raw.get("metadata"),
                                                                     dict) else None, str):
        plain = _plain(raw, here)
        plain.profile = profile
        return plain
    raw = camel_keys(raw)
    kind = str(raw["kind"])
    project = str(raw["metadata"]["project"])
    department = next((d for d, projects in profile.departments.items() if project in projects),
                      None)
    ctx = asset_refs.Context(profile.name, department, project, kind)
    policies = enforce.applicable(library, ctx)
    issues: list[FieldIssue] = []
    layers, found = asset_refs.reference_layers(raw, library, ctx)
    issues.extend(here.at(found))
    merged = Merged()
    for path, fragment in _builtin_sections(kind, raw, layers):
        merged.add(fragment, BUILTIN, path)
    defaults, found = enforce.default_layers(policies, kind)
    issues.extend(found)
    for data_layer, text in defaults:
        merged.add(data_layer, text)
    for layer in layers:
        merged.add(layer.data, layer.label, layer.prefix)
    merged.add(raw, SPEC)
    issues.extend(here.at(enforce.enforce_locks(merged, policies, kind)))
    issues.extend(here.at(enforce.impose_data_sources(merged, policies, library, ctx)))
    issues.extend(here.at(asset_refs.resolve_credentials(merged, library, ctx)))
    spec: AnySpec | None = None
    try:
        spec = parse_spec(merged.data, document=document, source=source)
    except SpecError as err:
        issues.extend(_attribute(i, merged) for i in err.issues)
    values = spec.model_dump(by_alias=True, mode="json") if spec is not None else merged.data
    issues.extend(here.at(enforce.check_rules(values, policies, kind, merged)))
    return Effective(spec if not issues else None, merged, policies, issues, document, source,
                     profile)


def _resolve_file(path: Path, profile: ClusterProfile, library: Library) -> list[Effective]:
    if not library:
        try:
            located = _load_located(path)
        except SpecError as err:
            raise SpecError([_asset_hint(i) for i in err.issues]) from None
        return [_from_plain(spec, str(path), index, profile) for index, spec in located]
    docs = read_yaml_documents(path, positions=True)
    if not docs:
        raise SpecError([FieldIssue("(file)", "holds no document", source=str(path),
                                    allowed="one or more inference specs")])
    results: list[Effective] = []
    issues: list[FieldIssue] = []
    for index, data, marks in docs:
        result = resolve(data, profile, library, document=index, source=str(path))
        results.append(result)
        issues.extend(_positioned(i, result.merged, marks) for i in result.issues)
    if issues:
        raise SpecError(issues)
    return results


def _positioned(issue: FieldIssue, merged: Merged,
                marks: Mapping[str, tuple[int, int]] | None) -> FieldIssue:
    """The issue with the line and column of its field when the spec file wrote it (or of
    the nearest written parent when the spec set the value)."""
    if marks is None or issue.line is not None or issue.path.startswith("("):
        return issue
    path = issue.path
    written = path in marks
    if not written and merged.source_of(path) not in (SPEC, None):
        return issue
    while path and path not in marks:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    if not path:
        return issue
    line, column = marks[path]
    return dataclasses.replace(issue, line=line, column=column)


def _asset_hint(issue: FieldIssue) -> FieldIssue:
    """Point a spec that loads assets, read without any, at the missing asset files."""
    last = issue.path.rsplit(".", 1)[-1]
    if last in ("environment", "asset") or (".asset" in issue.path):
        return dataclasses.replace(issue, hint=asset_refs.NO_ASSETS_HINT)
    return issue


def _load_located(path: Path) -> list[tuple[int, AnySpec]]:
    try:
        from inference_core.spec.loader import load_located
    except ImportError:  # pragma: no cover - older spec package
        return list(enumerate(load_specs(path)))
    return load_located(path)


def _from_plain(spec: AnySpec, source: str | None, document: int | None,
                profile: ClusterProfile | None = None) -> Effective:
    merged = Merged()
    merged.add(spec.model_dump(by_alias=True, exclude_unset=True, mode="json"), SPEC)
    return Effective(spec, merged, [], [], document, source, profile)


def _plain(raw: Any, here: _Locator) -> Effective:
    try:
        spec = parse_spec(raw, document=here.document, source=here.source)
    except SpecError as err:
        return Effective(None, Merged(), [], list(err.issues), here.document, here.source)
    return _from_plain(spec, here.source, here.document)


def _builtin_sections(kind: str, raw: dict[str, Any], layers: list[asset_refs.Layer]
                      ) -> list[tuple[str, dict[str, Any]]]:
    """Defaults of whole sections (e.g. Hugging Face compute: one GPU, large /dev/shm) that
    policy defaults would otherwise replace, for sections the spec and its assets leave out."""
    model = KINDS[kind].model_fields["spec"].annotation
    out = []
    spec = raw.get("spec") if isinstance(raw.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    for name, info in getattr(model, "model_fields", {}).items():
        factory = info.default_factory
        alias = info.alias or name
        if factory is None or alias in spec:
            continue
        if any(layer.prefix in (f"spec.{alias}",) or (layer.prefix == "spec"
                                                      and alias in layer.data)
               for layer in layers):
            continue
        value = factory()
        if isinstance(value, BaseModel):
            dumped = value.model_dump(by_alias=True, exclude_unset=True, mode="json")
            if dumped:
                out.append((f"spec.{alias}", dumped))
    return out


def _attribute(issue: FieldIssue, merged: Merged) -> FieldIssue:
    origin = merged.source_of(issue.path)
    if origin in (None, SPEC, BUILTIN):
        return issue
    note = f"the value comes from {origin}"
    return dataclasses.replace(issue, hint=f"{issue.hint}; {note}" if issue.hint else note)


def _duplicate_names(results: list[Effective]) -> list[FieldIssue]:
    seen: dict[tuple[str, str, str], Effective] = {}
    issues = []
    for result in results:
        if result.spec is None or result.document is None:
            continue
        key = (result.source or "", result.spec.metadata.project, result.spec.metadata.name)
        if key in seen and seen[key].document != result.document:
            first = seen[key]
            issues.append(FieldIssue("metadata.name", "is used by another document in the "
                                     f"same project ({first.source}#{first.document})",
                                     result.spec.metadata.name, "unique names per project",
                                     document=result.document, source=result.source))
        seen.setdefault(key, result)
    return issues


@dataclass(frozen=True)
class _Locator:
    document: int | None
    source: str | None

    def at(self, issues: Iterable[FieldIssue]) -> list[FieldIssue]:
        return [i if i.source is not None else dataclasses.replace(
            i, document=self.document, source=self.source) for i in issues]
