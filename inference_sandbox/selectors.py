"""Label and field selectors with the API server's syntax."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from inference_core.readiness import label_selector
from inference_sandbox.apierrors import bad_request

Predicate = Callable[[Mapping[str, Any]], bool]

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}


def query_bool(value: str | None) -> bool:
    """A boolean query parameter, parsed like Go's ``strconv.ParseBool``."""
    return value in _TRUE


def _split_fields(text: str) -> list[str]:
    """A field selector's requirements (no parentheses in that syntax)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_label_selector(text: str | None) -> Predicate:
    """``a=b,c!=d,e in (x,y),!f,g`` → predicate on a labels mapping (the core's matcher;
    an unparsable requirement is the API server's 400)."""
    try:
        return label_selector(text)  # type: ignore[return-value]
    except ValueError as e:
        raise bad_request(f"unable to parse requirement: {e}") from None


def _field_value(obj: Mapping[str, Any], path: str) -> str | None:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    if current is None:
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(text: str | None) -> Predicate:
    """``metadata.name=x,involvedObject.kind!=Pod`` → predicate on the whole object.

    Missing fields compare as the empty string, like the API server's field sets.
    """
    if not text:
        return lambda obj: True
    checks: list[Predicate] = []
    for req in _split_fields(text):
        if "!=" in req:
            key, value = (s.strip() for s in req.split("!=", 1))
            checks.append(lambda o, k=key, v=value: (_field_value(o, k) or "") != v)
        elif "=" in req:
            key, value = (s.strip() for s in re.split("==|=", req, maxsplit=1))
            checks.append(lambda o, k=key, v=value: (_field_value(o, k) or "") == v)
        else:
            raise bad_request(f"invalid selector: {text!r}; can't understand {req!r}")
    return lambda obj: all(check(obj) for check in checks)


def matches_label_selector_object(selector: Mapping[str, Any] | None,
                                  labels: Mapping[str, str]) -> bool:
    """Match a ``LabelSelector`` object (``matchLabels`` + ``matchExpressions``)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or \
                (op == "NotIn" and labels.get(key) in values) or \
                (op == "Exists" and key not in labels) or \
                (op == "DoesNotExist" and key in labels):
            return False
    return True
