"""Applying policies to one workload: which apply, their defaults, locks, imposed assets, rules.

Precedence when several policies apply (documented in docs/spec.md and ADR 0004):

- defaults: the spec and its assets win over every policy default; among policies the most
  specific scope wins (project over department over cluster over global); two policies of the
  same level giving one field different defaults is a policy error;
- rules: all apply and the stricter wins (highest ``min``, lowest ``max``, the intersection of
  ``options``, ``required`` if any requires, locked if any locks). A message cites the policy
  whose rule is violated (the strictest one);
- imposed data sources of every applicable policy are added.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from inference_core.errors import FieldIssue
from inference_core.policy import paths
from inference_core.policy.assets import Context, container_bases
from inference_core.policy.documents import DataSourceAsset, FieldRule, InferencePolicy
from inference_core.policy.library import Library, Located
from inference_core.policy.merge import Merged

_UNSET = object()


@dataclass(frozen=True)
class Applied:
    """A policy that applies to the workload, with where it was loaded from."""

    policy: InferencePolicy
    where: Located

    @property
    def name(self) -> str:
        """The policy name."""
        return self.policy.metadata.name

    def default_label(self) -> str:
        """Provenance label of its defaults."""
        return f"policy {self.name} default"


def applicable(library: Library, ctx: Context) -> list[Applied]:
    """Policies whose scope holds the workload, least specific first."""
    found = [Applied(p, w) for p, w in library.policies
             if p.scope.matches(cluster=ctx.cluster, department=ctx.department,
                                project=ctx.project, kind=ctx.kind)]
    return sorted(found, key=lambda a: a.policy.scope.level())


def default_layers(policies: list[Applied], kind: str
                   ) -> tuple[list[tuple[dict[str, Any], str]], list[FieldIssue]]:
    """Each policy's defaults (fields of ``kind`` only), least specific first."""
    layers = []
    issues = []
    seen: dict[tuple[int, str], tuple[Any, Applied]] = {}
    for applied in policies:
        data = _for_kind(paths.camel_keys(applied.policy.defaults), kind, "")
        level = applied.policy.scope.level()
        for path, value in paths.leaves(data):
            other = seen.get((level, path))
            if other is not None and other[0] != value:
                issues.append(FieldIssue(
                    f"defaults.{path}", f"policy {applied.name} and policy {other[1].name} "
                    f"({other[1].where}) both set a {applied.policy.scope.level_name()}-level "
                    "default for this field", value, hint="keep one of them, or scope one "
                    "of the policies more narrowly", document=applied.where.document,
                    source=applied.where.source))
            seen[(level, path)] = (value, applied)
        if data:
            layers.append((data, applied.default_label()))
    return layers, issues


def enforce_locks(merged: Merged, policies: list[Applied], kind: str) -> list[FieldIssue]:
    """Refuse spec/asset values of fields a policy locks (canEdit false), then impose them."""
    issues: list[FieldIssue] = []
    locks: dict[str, tuple[Any, Applied]] = {}
    for applied in policies:
        for path, rule in applied.policy.rules.items():
            if rule.can_edit:
                continue
            parts = paths.split(path)
            if not paths.field_annotation(kind, parts)[0]:
                continue
            defaults = paths.camel_keys(applied.policy.defaults)
            values = [v for _, v in paths.values_at(defaults, parts)] or [None]
            value = values[0]
            if path in locks and locks[path][0] != value:
                other = locks[path][1]
                issues.append(FieldIssue(f"rules.{path}.canEdit", f"policy {applied.name} and "
                                         f"policy {other.name} ({other.where}) lock this field "
                                         "to different values", value,
                                         document=applied.where.document,
                                         source=applied.where.source))
                continue
            locks[path] = (value, applied)
    for path, (locked, applied) in locks.items():
        parts = paths.split(path)
        parse = _normalizer(kind, parts)
        for concrete, current in list(paths.values_at(merged.data, parts)):
            origin = merged.source_of(concrete)
            if current is None or origin is None or origin.startswith("policy "):
                continue
            if locked is not None and parse(current) == parse(locked):
                continue
            shown = "the built-in default" if locked is None else repr(locked)
            who = "" if origin == "spec" else f" ({origin} sets it)"
            issues.append(FieldIssue(
                concrete, f"policy {applied.name}: cannot be edited{who}",
                _shown(concrete, current),
                f"{shown}, set by the policy",
                f"remove it from the spec (rule {path} canEdit: false in {applied.where})"))
        for concrete, _ in list(paths.values_at(merged.data, parts)):
            concrete_parts = paths.split(concrete)
            if locked is None:
                _remove(merged, concrete_parts)
            else:
                merged.put(concrete_parts, locked, f"policy {applied.name} (cannot be edited)")
    return issues


def impose_data_sources(merged: Merged, policies: list[Applied], library: Library,
                        ctx: Context) -> list[FieldIssue]:
    """Add the data sources every applicable policy imposes; refuse specs that change them."""
    issues: list[FieldIssue] = []
    for applied in policies:
        for i, item in enumerate(applied.policy.imposed_assets.data_sources):
            if isinstance(item, str):
                entry = library.asset("DataSource", item)
                if entry is None or not isinstance(entry[0], DataSourceAsset):
                    issues.append(FieldIssue(
                        f"imposedAssets.dataSources[{i}]", "is not a known DataSource asset",
                        item, ", ".join(library.asset_names("DataSource")) or
                        "no DataSource asset is loaded", "pass the asset files with --assets",
                        document=applied.where.document, source=applied.where.source))
                    continue
                fragment = entry[0].spec.model_dump(by_alias=True, exclude_unset=True,
                                                    mode="json")
                fragment.setdefault("name", item[:40])
            else:
                fragment = item.model_dump(by_alias=True, exclude_unset=True, mode="json")
            for base in container_bases(ctx.kind):
                issues.extend(_impose(merged, base, fragment, applied))
    return issues


def _impose(merged: Merged, base: str, fragment: dict[str, Any],
            applied: Applied) -> Iterator[FieldIssue]:
    section: Any = merged.data
    for part in base.split("."):
        section = section.get(part) if isinstance(section, dict) else None
    storage = section.get("storage") if isinstance(section, dict) else None
    for i, existing in enumerate(storage if isinstance(storage, list) else []):
        if not isinstance(existing, dict) or existing.get("name") != fragment["name"]:
            continue
        for key, value in fragment.items():
            if key in existing and existing[key] != value:
                yield FieldIssue(
                    f"{base}.storage[{i}].{key}", f"policy {applied.name}: data source "
                    f"{fragment['name']} is imposed and cannot be changed", existing[key],
                    repr(value), f"remove it from the spec; the policy adds it "
                    f"({applied.where})")
    if isinstance(section, dict) or base == "spec":
        merged.add({"storage": [fragment]}, f"policy {applied.name} (imposed)", base)


def check_rules(values: Any, policies: list[Applied], kind: str,
                merged: Merged | None = None) -> list[FieldIssue]:
    """Every rule violation in the effective document ``values`` (camelCase dict);
    ``merged`` tells where list items came from (for ``canAdd: false``)."""
    by_path: dict[str, list[tuple[FieldRule, Applied]]] = {}
    for applied in policies:
        for path, rule in applied.policy.rules.items():
            by_path.setdefault(path, []).append((rule, applied))
    issues: list[FieldIssue] = []
    for path, rules in by_path.items():
        parts = paths.split(path)
        if not paths.field_annotation(kind, parts)[0]:
            continue
        norm = _normalizer(kind, parts)
        for concrete, value in paths.values_at(values, parts):
            issues.extend(dataclasses.replace(i, value=_shown(concrete, i.value))
                          for i in _check_one(concrete, path, value, rules, norm))
            if merged is not None and isinstance(value, list):
                issues.extend(_added_items(concrete, path, value, rules, merged))
    return issues


def _added_items(concrete: str, path: str, items: list[Any],
                 rules: list[tuple[FieldRule, Applied]], merged: Merged) -> Iterator[FieldIssue]:
    """Items of a ``canAdd: false`` list that no policy put there."""
    closed = [a for r, a in rules if not r.can_add]
    if not closed:
        return
    for i, item in enumerate(items):
        probe = f"{concrete}[{i}].name" if isinstance(item, dict) and "name" in item else \
            f"{concrete}[{i}]"
        origin = merged.source_of(probe)
        if origin is not None and not origin.startswith("policy "):
            shown = item.get("name") if isinstance(item, dict) else item
            yield FieldIssue(f"{concrete}[{i}]", f"policy {closed[0].name}: items cannot be "
                             f"added here ({origin} adds this one)", shown,
                             "the items the policies give",
                             f"remove it (rule {path} canAdd: false in {closed[0].where})")


def _shown(path: str, value: Any) -> Any:
    """Values of token fields never appear in messages."""
    return "<hidden>" if value is not None and "token" in path.lower() else value


def _check_one(concrete: str, path: str, value: Any, rules: list[tuple[FieldRule, Applied]],
               norm: Callable[[Any], Any]) -> Iterator[FieldIssue]:
    if value is None or value == "" or value == [] or value == {}:
        required = [a for r, a in rules if r.required]
        if required:
            a = required[0]
            allowed = _options_text(rules)
            yield FieldIssue(concrete, f"policy {a.name}: is required", None, allowed,
                             f"set it in the spec (rule {path} required in {a.where})")
        return
    maxes = sorted(((norm(r.max), r.max, a) for r, a in rules if r.max is not None),
                   key=lambda t: _sortable(t[0]))
    for bound, shown, a in maxes:
        if _compare(norm(value), bound) > 0:
            yield FieldIssue(concrete, f"policy {a.name}: must be <= {shown}", value,
                             hint=f"rule {path} max in {a.where}")
            break
    mins = sorted(((norm(r.min), r.min, a) for r, a in rules if r.min is not None),
                  key=lambda t: _sortable(t[0]), reverse=True)
    for bound, shown, a in mins:
        if _compare(norm(value), bound) < 0:
            yield FieldIssue(concrete, f"policy {a.name}: must be >= {shown}", value,
                             hint=f"rule {path} min in {a.where}")
            break
    items = value if isinstance(value, list) else [value]
    for r, a in rules:
        if r.options is None:
            continue
        permitted = {_key(norm(o)) for o in r.options}
        bad = [v for v in items if _key(norm(v)) not in permitted]
        if bad:
            yield FieldIssue(concrete, f"policy {a.name}: is not an allowed value",
                             bad[0] if len(items) > 1 else value, _options_text(rules),
                             f"rule {path} options in {a.where}")
            break


def _options_text(rules: list[tuple[FieldRule, Applied]]) -> str | None:
    sets = [r.options for r, _ in rules if r.options is not None]
    if not sets:
        return None
    common = [o for o in sets[0] if all(_key(o) in {_key(x) for x in s} for s in sets[1:])]
    return ", ".join(str(o) for o in common) or "no value (the policies' options do not overlap)"


def _normalizer(kind: str, parts: list[str | int]) -> Callable[[Any], Any]:
    parser = paths.parser_for(kind, paths.split(paths.join(parts)))

    def norm(value: Any) -> Any:
        if parser is not None and value is not None:
            try:
                return parser(value)
            except ValueError:
                return value
        if isinstance(value, str):
            try:
                return float(value) if value.strip() and _numeric(value) else value
            except ValueError:
                return value
        return value

    return norm


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _compare(a: Any, b: Any) -> int:
    try:
        return int((a > b) - (a < b))
    except TypeError:
        return 0


def _sortable(value: Any) -> Any:
    return value if isinstance(value, int | float) else 0


def _key(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return float(value)


def _for_kind(data: Any, kind: str, prefix: str) -> Any:
    if not isinstance(data, dict) or prefix.endswith(("labels", "annotations")):
        return data
    out = {}
    for key, value in data.items():
        path = paths.child(prefix, str(key))
        if paths.field_annotation(kind, paths.split(path))[0]:
            out[key] = _for_kind(value, kind, path)
    return out


def _remove(merged: Merged, parts: list[str | int]) -> None:
    target: Any = merged.data
    for part in parts[:-1]:
        if isinstance(part, int):
            target = target[part] if isinstance(target, list) and part < len(target) else None
        else:
            target = target.get(part) if isinstance(target, dict) else None
    if isinstance(target, dict) and isinstance(parts[-1], str):
        target.pop(parts[-1], None)
