"""Label selectors in the API server's string syntax: the matching side of
:func:`~inference_core.readiness.pod_selector`.

``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a`` (exists) and ``!a``
(does not exist), joined by commas. Used wherever pods are picked out of a larger set (a
shared watch cache, a namespace-wide list) so every caller filters exactly as the API server
would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

LabelPredicate = Callable[[Mapping[str, str]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_KEY = re.compile(r"[A-Za-z0-9_./-]+")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses; blank terms dropped."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _term(term: str) -> LabelPredicate:
    match = _SET_TERM.match(term)
    if match:
        key, op = match.group(1), match.group(2)
        allowed = frozenset(v.strip() for v in match.group(3).split(",") if v.strip())
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if "!=" in term:
        key, value = (s.strip() for s in term.split("!=", 1))
        return lambda labels: labels.get(key) != value
    if "=" in term:
        key, value = (s.strip() for s in re.split("==|=", term, maxsplit=1))
        return lambda labels: labels.get(key) == value
    if term.startswith("!") and _KEY.fullmatch(term[1:].strip()):
        absent = term[1:].strip()
        return lambda labels: absent not in labels
    if _KEY.fullmatch(term):
        return lambda labels: term in labels
    raise ValueError(f"invalid label selector requirement {term!r}")


def label_selector(text: str | None) -> LabelPredicate:
    """A predicate on a labels mapping; an empty or absent selector matches everything.

    Raises ``ValueError`` naming the requirement it cannot parse.
    """
    checks = [_term(term) for term in _split_top(text or "")]
    return lambda labels: all(check(labels) for check in checks)


def selector_matches(selector: str | None, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy ``selector``. ``None`` matches nothing (no selector known
    yet); an empty string matches everything, as on the API server."""
    return selector is not None and label_selector(selector)(labels)
