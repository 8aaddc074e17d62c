"""Provenance reports: the effective spec with where each value came from.

Three forms of the same rows (field path, value, source): YAML with a comment per value,
a plain table, and a JSON object. Secret values never appear (tokens are shown masked).
"""

from __future__ import annotations

import json
import re
from typing import Any

from inference_core.policy import paths
from inference_core.policy.effective import Effective
from inference_core.policy.paths import child

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def effective_document(result: Effective) -> dict[str, Any]:
    """The full effective document (defaults included, empty values left out), with the
    values rendering takes from the cluster profile filled in (see ``profile_values``)."""
    if result.spec is None:
        return {}
    data: dict[str, Any] = result.spec.model_dump(by_alias=True, mode="json", exclude_none=True)
    for path, (value, _) in profile_values(result).items():
        target = data
        keys = path.split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return data


def profile_values(result: Effective) -> dict[str, tuple[Any, str]]:
    """Values the spec leaves empty that rendering takes from the cluster profile (the vLLM
    image), as path -> (value, source)."""
    spec = result.spec
    profile = result.profile
    if spec is None or profile is None:
        return {}
    label = f"profile {profile.name}"
    out: dict[str, tuple[Any, str]] = {}
    if spec.kind == "HuggingFaceInference" and spec.spec.vllm.image is None:
        out["spec.vllm.image"] = (profile.vllm_image, label)
    elif spec.kind == "DistributedInference":
        image = spec.spec.vllm.image
        for role in ("leader", "workers"):
            if getattr(spec.spec, role).image is None:
                out[f"spec.{role}.image"] = (
                    (image, result.source_of("spec.vllm.image")) if image else
                    (profile.vllm_image, label))
    return out


def limits(result: Effective) -> dict[str, str]:
    """What the applicable policies allow per rule path, in words, citing each policy:
    ``<= 2 (team-a-inference); required (affinity)`` — the stricter bound of several."""
    spec = result.spec
    if spec is None:
        return {}
    per_path: dict[str, list[tuple[Any, str]]] = {}
    for applied in result.policies:
        for path, rule in applied.policy.rules.items():
            if paths.field_annotation(spec.kind, paths.split(path))[0]:
                per_path.setdefault(_pattern(path), []).append((rule, applied.name))
    out = {}
    for path, rules in per_path.items():
        parts = []
        parse = paths.parser_for(spec.kind, paths.split(path)) or _number
        maxes = [(r.max, n) for r, n in rules if r.max is not None]
        mins = [(r.min, n) for r, n in rules if r.min is not None]
        if mins:
            bound, name = max(mins, key=lambda t: _value(parse, t[0]))
            parts.append(f">= {bound} ({name})")
        if maxes:
            bound, name = min(maxes, key=lambda t: _value(parse, t[0]))
            parts.append(f"<= {bound} ({name})")
        for rule, name in rules:
            if rule.options is not None:
                parts.append(f"one of {', '.join(str(o) for o in rule.options)} ({name})")
        required = [n for r, n in rules if r.required]
        if required:
            parts.append(f"required ({', '.join(required)})")
        locked = [n for r, n in rules if not r.can_edit]
        if locked:
            parts.append(f"cannot be edited ({', '.join(locked)})")
        closed = [n for r, n in rules if not r.can_add]
        if closed:
            parts.append(f"no items may be added ({', '.join(closed)})")
        if parts:
            out[path] = "; ".join(parts)
    return out


def _pattern(path: str) -> str:
    return re.sub(r"\[(\d*|\*)\]", "[]", path)


def _number(value: Any) -> Any:
    return value


def _value(parse: Any, bound: Any) -> float:
    try:
        return float(parse(bound))
    except (TypeError, ValueError):
        return 0.0


def _source(result: Effective, path: str) -> str:
    found = profile_values(result).get(path)
    return found[1] if found else result.source_of(path)


def rows(result: Effective) -> list[tuple[str, Any, str]]:
    """(path, value, source) of every value of the effective document."""
    out: list[tuple[str, Any, str]] = []
    _walk(effective_document(result), "", result, out)
    return out


def header(result: Effective) -> str:
    """``file#index: Kind project/name; policies: ...`` for one document."""
    where = f"{result.source}#{result.document}" if result.document is not None else (
        result.source or "(spec)")
    spec = result.spec
    who = f"{spec.kind} {spec.metadata.project}/{spec.metadata.name}" if spec else "(invalid)"
    applied = ", ".join(f"{a.name} ({a.policy.scope.level_name()}, {a.where})"
                        for a in result.policies) or "none"
    return f"{where}: {who}; policies: {applied}"


def to_yaml(results: list[Effective]) -> str:
    """Multi-document YAML; each value carries a ``# source`` comment."""
    chunks = []
    for result in results:
        lines = [f"# {header(result)}"]
        _emit(effective_document(result), "", 0, lines, result, limits(result))
        chunks.append("\n".join(lines) + "\n")
    return "---\n".join(chunks)


def to_table(results: list[Effective]) -> str:
    """A table per document: FIELD, VALUE, SOURCE and what the policies allow (POLICY)."""
    out = []
    for result in results:
        lims = limits(result)
        body = [(path, _scalar(value), source, lims.get(_pattern(path), ""))
                for path, value, source in rows(result)]
        width = [max([len(h)] + [len(r[i]) for r in body]) for i, h in
                 enumerate(("FIELD", "VALUE", "SOURCE"))]
        width[1] = min(width[1], 60)
        lines = [header(result), _row(("FIELD", "VALUE", "SOURCE", "POLICY"), width)]
        lines.extend(_row(r, width) for r in body)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def to_json(results: list[Effective]) -> dict[str, Any]:
    """``{"documents": [{source, document, kind, name, project, policies, spec, sources,
    limits}]}``; ``limits`` maps rule paths to what the policies allow."""
    docs = []
    for result in results:
        spec = result.spec
        docs.append({
            "source": result.source,
            "document": result.document,
            "kind": spec.kind if spec else None,
            "name": spec.metadata.name if spec else None,
            "project": spec.metadata.project if spec else None,
            "policies": [{"name": a.name, "level": a.policy.scope.level_name(),
                          "file": a.where.source, "document": a.where.document}
                         for a in result.policies],
            "spec": effective_document(result),
            "sources": {path: source for path, _, source in rows(result)},
            "limits": limits(result),
        })
    return {"documents": docs}


def _walk(value: Any, path: str, result: Effective, out: list[tuple[str, Any, str]]) -> None:
    if isinstance(value, dict) and value and not path.endswith(("labels", "annotations")):
        for key, item in value.items():
            _walk(item, child(path, str(key)), result, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _walk(item, child(path, i), result, out)
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            out.append((f"{path}.{key}", item, _source(result, f"{path}.{key}")))
    else:
        out.append((path, value, _source(result, path)))


def _emit(value: dict[str, Any], path: str, indent: int, lines: list[str],
          result: Effective, lims: dict[str, str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        here = child(path, str(key))
        name = key if _PLAIN_KEY.match(str(key)) else json.dumps(str(key))
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{name}:")
            _emit(item, here, indent + 2, lines, result, lims)
        elif isinstance(item, list) and item and all(isinstance(v, dict) and v for v in item):
            lines.append(f"{pad}{name}:")
            for i, element in enumerate(item):
                sub: list[str] = []
                _emit(element, child(here, i), indent + 2, sub, result, lims)
                sub[0] = f"{pad}- {sub[0][indent + 2:]}"
                lines.extend(sub)
        else:
            limit = lims.get(_pattern(here))
            note = f"{_source(result, here)}; policy: {limit}" if limit else _source(result,
                                                                                     here)
            lines.append(f"{pad}{name}: {json.dumps(item)}  # {note}")


def _scalar(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _row(cells: tuple[str, str, str, str], width: list[int]) -> str:
    value = cells[1] if len(cells[1]) <= width[1] else cells[1][: width[1] - 3] + "..."
    line = f"{cells[0]:<{width[0]}}  {value:<{width[1]}}  {cells[2]:<{width[2]}}  {cells[3]}"
    return line.rstrip()
