"""Loading specs from YAML files, text or dicts, with precise error reports.

Every problem becomes a ``FieldIssue`` carrying the document index, the camelCase field
path, the bad value, what is allowed and a hint; all issues of all documents are reported
together in one ``SpecError``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from yaml.nodes import Node

from inference_core.errors import FieldIssue, SpecError
from inference_core.spec import k8s_names, rules
from inference_core.spec.base import DNS1123_LABEL
from inference_core.spec.common import (
    ENV_NAME,
    LABEL_KEY,
    LABEL_VALUE,
    LABEL_VALUE_OR_EMPTY,
)
from inference_core.spec.kinds import (
    API_VERSION,
    KINDS,
    CustomInference,
    DistributedInference,
    HuggingFaceInference,
)
from inference_core.spec.yamlio import LIMITS, check_value, iter_documents, positions

AnySpec = CustomInference | HuggingFaceInference | DistributedInference


def parse_spec(data: Mapping[str, Any] | AnySpec, *, document: int | None = None,
               source: str | None = None) -> AnySpec:
    """Validate one document (a dict as in YAML, or an already-built spec object).

    Raises ``SpecError`` listing every problem (types, ranges, cross-field rules). A dict is
    first held to the input limits (``yamlio.LIMITS``: value length, nesting, size).
    """
    if not isinstance(data, CustomInference | HuggingFaceInference | DistributedInference):
        check_value(data, document=document, source=source)
    return _parse(data, document, source)


def _parse(data: Mapping[str, Any] | AnySpec, document: int | None,
           source: str | None) -> AnySpec:
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
    for index, data in enumerate(docs):
        if data is not None:
            check_value(data, document=index, source=source)
    located = _parse_all(((i, d, None) for i, d in enumerate(docs)), source)
    return [spec for _, spec in located]


def _parse_all(docs: Iterable[tuple[int, Any, Node | None]],
               source: str | None) -> list[tuple[int, AnySpec]]:
    specs: list[tuple[int, AnySpec]] = []
    issues: list[FieldIssue] = []
    names: dict[tuple[str, str], int] = {}
    for index, data, node in docs:
        if data is None:
            continue
        try:
            spec = _parse(data, index, source)
        except SpecError as err:
            issues.extend(_positioned(err.issues, node))
            continue
        key = (spec.metadata.project, spec.metadata.name)
        if key in names:
            issue = FieldIssue("metadata.name", "is used by another document in the "
                               f"same project (document {names[key]})", spec.name,
                               "unique names per project", document=index, source=source)
            issues.extend(_positioned([issue], node))
        names[key] = index
        specs.append((index, spec))
    if issues:
        raise SpecError(issues)
    return specs


def _positioned(issues: Iterable[FieldIssue], node: Node | None) -> list[FieldIssue]:
    """Issues with the line and column of their field (or its nearest written parent)."""
    if node is None:
        return list(issues)
    marks = positions(node)
    out = []
    for issue in issues:
        path = issue.path
        while path and path not in marks:
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        if path:
            line, column = marks[path]
            issue = dataclasses.replace(issue, line=line, column=column)
        out.append(issue)
    return out


def load_located_text(text: str, *, source: str | None = None) -> list[tuple[int, AnySpec]]:
    """Parse a (multi-document) YAML string into (document index, spec) pairs."""
    # One document at a time: each node tree is dropped once its document is validated
    # (keeping every tree of a large file alive multiplies the garbage collector's work).
    seen = 0

    def documents() -> Iterator[tuple[int, Any, Node | None]]:
        nonlocal seen
        for doc in iter_documents(text, source=source):
            seen += doc.data is not None
            yield doc.index, doc.data, doc.node

    specs = _parse_all(documents(), source)
    if not seen:
        raise SpecError([FieldIssue("(file)", "holds no document", source=source,
                                    allowed="one or more inference specs")])
    return specs


def load_specs_text(text: str, *, source: str | None = None) -> list[AnySpec]:
    """Parse a (multi-document) YAML string."""
    return [spec for _, spec in load_located_text(text, source=source)]


def load_located(path: str | Path) -> list[tuple[int, AnySpec]]:
    """Parse every document of a YAML file into (document index, spec) pairs."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > LIMITS.max_bytes:
            raise SpecError([FieldIssue(
                "(file)", "is larger than the spec size limit", f"{size:,} bytes",
                f"at most {LIMITS.max_bytes:,} bytes", "split the specs into several files",
                source=str(p))])
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError([FieldIssue("(file)", f"cannot be read: {err.strerror}",
                                    source=str(p))]) from err
    except UnicodeDecodeError as err:
        raise SpecError([FieldIssue("(file)", f"is not UTF-8 text (byte {err.start})",
                                    source=str(p))]) from None
    return load_located_text(text, source=str(p))


def load_specs(path: str | Path) -> list[AnySpec]:
    """Parse every document of a YAML file."""
    return [spec for _, spec in load_located(path)]


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
        issues = [_from_pydantic(e, model, data, document, source)
                  for e in err.errors(include_url=False)]
        raise SpecError(_merge_alternatives(issues)) from None


# Location parts pydantic adds for union members and validators, never field names:
# ``function-before[parse_memory(), int]``, ``literal['auto']``, ``int``, ``[key]``.
_INTERNAL_LOC = re.compile(r"[\[\](){}']|^(int|str|float|bool|none|dict|list|tuple)$")


_PATTERN_HINTS = {
    DNS1123_LABEL: "lowercase letters, digits and '-', starting and ending with a letter or digit",
    ENV_NAME: k8s_names.ENV_NAME_HELP,
    LABEL_VALUE: k8s_names.LABEL_VALUE_HELP,
    LABEL_VALUE_OR_EMPTY: k8s_names.LABEL_VALUE_HELP,
    LABEL_KEY: k8s_names.QUALIFIED_NAME_HELP,
}


def _merge_alternatives(issues: list[FieldIssue]) -> list[FieldIssue]:
    """One issue per field: a value that matches none of a union's members is one mistake.

    The member whose own check explains the problem (a ``value_error`` from our parsers)
    gives the message; the other members' allowed values are added to ``allowed``.
    """
    by_path: dict[str, list[FieldIssue]] = {}
    for issue in issues:
        by_path.setdefault(issue.path, []).append(issue)
    out = []
    for group in by_path.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        main = next((i for i in group if i.value is not None and i.allowed is None), group[0])
        others = [i for i in group if i is not main]
        extra = [a for a in dict.fromkeys(o.allowed for o in others) if a]
        if main.allowed is None and extra:
            out.append(dataclasses.replace(main, message=f"{main.message}, or "
                                           + " or ".join(extra)))
        else:
            allowed = [a for a in dict.fromkeys((main.allowed, *extra)) if a]
            out.append(dataclasses.replace(main, allowed=" or ".join(allowed) or None))
    return out


def _from_pydantic(error: Any, model: type[BaseModel], data: Any, document: int | None,
                   source: str | None) -> FieldIssue:
    loc = [p for p in error["loc"] if isinstance(p, int) or not _INTERNAL_LOC.search(p)]
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
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern")))
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
