"""Label and field selectors with the API server's syntax."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from inference_sandbox.apierrors import bad_request

Predicate = Callable[[Mapping[str, Any]], bool]

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}


def query_bool(value: str | None) -> bool:
    """A boolean query parameter, parsed like Go's ``strconv.ParseBool``."""
    return value in _TRUE

_SET_RE = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> Predicate:
    """``a=b,c!=d,e in (x,y),!f,g`` → predicate on a labels mapping."""
    if not text:
        return lambda labels: True
    checks: list[Predicate] = []
    for req in _split_top(text):
        match = _SET_RE.match(req)
        if match:
            key, op, values = match.group(1), match.group(2), match.group(3)
            allowed = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                checks.append(lambda lb, k=key, a=allowed: lb.get(k) in a)
            else:
                checks.append(lambda lb, k=key, a=allowed: lb.get(k) not in a)
        elif "!=" in req:
            key, value = (s.strip() for s in req.split("!=", 1))
            checks.append(lambda lb, k=key, v=value: lb.get(k) != v)
        elif "==" in req or "=" in req:
            key, value = (s.strip() for s in re.split("==|=", req, maxsplit=1))
            checks.append(lambda lb, k=key, v=value: lb.get(k) == v)
        elif req.startswith("!"):
            key = req[1:].strip()
            checks.append(lambda lb, k=key: k not in lb)
        elif re.fullmatch(r"[A-Za-z0-9_./-]+", req):
            checks.append(lambda lb, k=req: k in lb)
        else:
            raise bad_request(f"unable to parse requirement: invalid label selector {req!r}")
    return lambda labels: all(check(labels) for check in checks)


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
    for req in _split_top(text):
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
