"""Spec inputs: "is this string a path or YAML text?" answered in one place.

Every front door accepts a spec as a validated spec object, a dict (as in YAML), a path
(``str`` or :class:`~pathlib.Path`) or YAML text. :func:`resolve_spec_input` turns any of
them into exactly one validated spec, :func:`resolve_spec_inputs` into all documents.

Rules for a string: it is YAML text when it holds a newline, or a mapping on one line
(``{...}`` or ``key: value``); otherwise it is a path. A path that does not exist is an
error naming it (never silently parsed as YAML).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inference_core.errors import FieldIssue, SpecError

ALLOWED = "a spec object, a dict, a YAML file path or YAML text"


def looks_like_yaml_text(text: str) -> bool:
    """True when ``text`` is YAML text rather than a file path (see module doc)."""
    stripped = text.strip()
    if "\n" in stripped:
        return True
    if stripped.startswith("{"):
        return True
    if stripped.endswith((".yaml", ".yml", ".json")):
        return False
    return ": " in stripped or stripped.endswith(":")


def resolve_spec_inputs(value: Any, *, field: str = "spec", profile: Any = None,
                        policies: Any = (), assets: Any = ()) -> list[Any]:
    """Every validated spec document ``value`` holds (see module doc for the forms).

    With policies or assets (``policies``/``assets`` paths, or listed by ``profile``), the
    documents are resolved by ``inference_core.policy.effective_specs`` (assets loaded,
    policies applied). Raises ``SpecError`` naming ``field``, the value's type or path, and
    what is allowed.
    """
    if profile is not None or policies or assets:
        from inference_core.policy import effective_specs, library_for

        library = library_for(profile, policies or (), assets or ())
        if library:
            return effective_specs(value, profile, library=library, field=field)
    from inference_core.spec import load_specs, load_specs_text, parse_spec
    from inference_core.spec.kinds import (
        CustomInference,
        DistributedInference,
        HuggingFaceInference,
    )

    if value is None:
        raise SpecError([FieldIssue(field, "is required", allowed=ALLOWED)])
    if isinstance(value, CustomInference | HuggingFaceInference | DistributedInference):
        return [parse_spec(value)]
    if isinstance(value, Mapping):
        return [parse_spec(value)]
    if hasattr(value, "model_dump") and not isinstance(value, str | bytes):
        return [parse_spec(value.model_dump(by_alias=True, exclude_none=True))]
    if isinstance(value, str) and looks_like_yaml_text(value):
        return list(load_specs_text(value, source="(inline YAML)"))
    if isinstance(value, str | os.PathLike):
        path = Path(value).expanduser()
        if not path.is_file():
            raise SpecError([FieldIssue(field, "names no readable file", value=str(path),
                                        allowed=ALLOWED)])
        return list(load_specs(path))
    raise SpecError([FieldIssue(field, "has an unsupported type", value=type(value).__name__,
                                allowed=ALLOWED)])


def resolve_spec_input(value: Any, *, name: str | None = None, kind: str | None = None,
                       field: str = "spec", profile: Any = None, policies: Any = (),
                       assets: Any = ()) -> Any:
    """Exactly one validated spec from ``value``; ``name`` picks a document of a
    multi-document file, ``kind`` (``CustomInference`` ...) checks the document's kind;
    ``profile``/``policies``/``assets`` as in ``resolve_spec_inputs``."""
    docs = resolve_spec_inputs(value, field=field, profile=profile, policies=policies,
                               assets=assets)
    if name is not None:
        chosen = [d for d in docs if d.metadata.name == name]
        if not chosen:
            raise SpecError([FieldIssue(f"{field}_name", "names no document", value=name,
                                        allowed=", ".join(d.metadata.name for d in docs))])
        docs = chosen
    if len(docs) != 1:
        raise SpecError([FieldIssue(field, f"holds {len(docs)} documents",
                                    value=[d.metadata.name for d in docs],
                                    allowed=f"exactly one (name one with {field}_name)")])
    spec = docs[0]
    if kind is not None and spec.kind != kind:
        raise SpecError([FieldIssue("kind", "is not the kind expected here", value=spec.kind,
                                    allowed=kind)])
    return spec
