"""Loading specs from YAML files, text or dicts, with precise error reports.

Every problem becomes a ``FieldIssue`` carrying the document index, the camelCase field
path, the bad value, what is allowed and a hint; all issues of all documents are reported
together in one ``SpecError``.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from inference_core.errors import FieldIssue, SpecError
from inference_core.spec import rules
from inference_core.spec.kinds import (
    API_VERSION,
    KINDS,
    CustomInference,
    DistributedInference,
    HuggingFaceInference,
)

AnySpec = CustomInference | HuggingFaceInference | DistributedInference


def parse_spec(data: Mapping[str, Any] | AnySpec, *, document: int | None = None,
               source: str | None = None) -> AnySpec:
    """Validate one document (a dict as in YAML, or an already-built spec object).

    Raises ``SpecError`` listing every problem (types, ranges, cross-field rules).
    """
    if isinstance(data, CustomInference | HuggingFaceInference | DistributedInference):
        doc: AnySpec = data
    else:
        doc = _validate_types(data, document, source)
    issues = rules.check(doc)
    if issues:
        raise SpecError([_locate(i, document, source) for i in issues])
    return doc


def parse_documents(docs: list[Any], *, source: str | None = None) -> list[AnySpec]:
    """Validate several documents, reporting the issues of all of them at once."""
    specs: list[AnySpec] = []
    issues: list[FieldIssue] = []
    names: dict[tuple[str, str], int] = {}
    for index, data in enumerate(docs):
        if data is None:
            continue
        try:
            spec = parse_spec(data, document=index, source=source)
        except SpecError as err:
            issues.extend(err.issues)
            continue
        key = (spec.metadata.project, spec.metadata.name)
        if key in names:
            issues.append(FieldIssue("metadata.name", "is used by another document in the "
                                     f"same project (document {names[key]})", spec.name,
                                     "unique names per project", document=index, source=source))
        names[key] = index
        specs.append(spec)
    if issues:
        raise SpecError(issues)
    return specs


def load_specs_text(text: str, *, source: str | None = None) -> list[AnySpec]:
    """Parse a (multi-document) YAML string."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise SpecError([FieldIssue("(yaml)", f"is not valid YAML at {where}: "
                                    f"{getattr(err, 'problem', err)}", source=source)]) from err
    if not any(d is not None for d in docs):
        raise SpecError([FieldIssue("(file)", "holds no document", source=source,
                                    allowed="one or more inference specs")])
    return parse_documents(docs, source=source)


def load_specs(path: str | Path) -> list[AnySpec]:
    """Parse every document of a YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError([FieldIssue("(file)", f"cannot be read: {err.strerror}",
                                    source=str(p))]) from err
    return load_specs_text(text, source=str(p))


def _locate(issue: FieldIssue, document: int | None, source: str | None) -> FieldIssue:
    return dataclasses.replace(issue, document=document, source=source)


def _validate_types(data: Any, document: int | None, source: str | None) -> AnySpec:
    if not isinstance(data, Mapping):
        raise SpecError([FieldIssue("(document)", "must be a mapping", type(data).__name__,
                                    "apiVersion, kind, metadata, spec", document=document,
                                    source=source)])
    kind = data.get("kind")
    api_version = data.get("apiVersion", API_VERSION)
    issues = []
    if api_version != API_VERSION:
        issues.append(FieldIssue("apiVersion", "is not supported", api_version, API_VERSION,
                                 document=document, source=source))
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        issues.append(FieldIssue("kind", "is not a workload kind", kind, ", ".join(KINDS),
                                 f"did you mean {close[0]}?" if close else None,
                                 document=document, source=source))
    if issues:
        raise SpecError(issues)
    assert model is not None
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise SpecError([_from_pydantic(e, model, data, document, source)
                         for e in err.errors(include_url=False)]) from None


def _from_pydantic(error: Any, model: type[BaseModel], data: Any, document: int | None,
                   source: str | None) -> FieldIssue:
    loc = [p for p in error["loc"] if p not in ("function-after", "function-before")]
    path = _path(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    allowed = None
    hint = None
    message = error["msg"]
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        message = "is not a known field"
        allowed = ", ".join(known) if known else None
        hint = f"did you mean {close[0]!r}?" if close else None
        value = None
    elif kind == "missing":
        message = "is required"
        value = None
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        allowed = _range(ctx)
        message = "is out of range"
    elif kind in ("enum", "literal_error"):
        allowed = str(ctx.get("expected", "")).replace("'", "")
        message = "is not an allowed value"
    elif kind == "string_pattern_mismatch":
        allowed = f"text matching {ctx.get('pattern')}"
        message = "has an invalid format"
        if loc and loc[-1] == "name":
            hint = "lowercase letters, digits and '-', starting and ending with a letter or digit"
    elif kind == "value_error":
        message = str(ctx.get("error", message))
    elif kind in ("string_too_long", "too_long"):
        allowed = f"at most {ctx.get('max_length')}"
    elif kind in ("string_too_short", "too_short"):
        allowed = f"at least {ctx.get('min_length')}"
    if isinstance(value, dict | list) and kind not in ("value_error",):
        value = None if kind in ("missing", "model_type") else value
    if "token" in path.lower():
        value = "<hidden>" if value is not None else None
    return FieldIssue(path=path, message=message, value=value, allowed=allowed, hint=hint,
                      document=document, source=source)


def _path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def _range(ctx: Mapping[str, Any]) -> str:
    parts = []
    for key, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx:
            parts.append(f"{sym} {ctx[key]}")
    return " and ".join(parts)


def _known_fields(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """camelCase field names of the model found at ``loc`` (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = next((f for n, f in current.model_fields.items()
                      if part in (n, f.alias)), None)
        if field is None:
            return []
        current = _model_of(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
