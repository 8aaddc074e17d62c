"""Defensive readers for Kubernetes object dicts.

Status payloads come from the API server, a watch, or a test; any field may be missing or
have an unexpected type. These helpers never raise: a wrong type reads as "absent".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

EMPTY: Mapping[str, Any] = {}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else EMPTY


def as_list(value: Any) -> list[Mapping[str, Any]]:
    """The mapping items of ``value`` if it is a list/tuple, else ``[]``."""
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_int(value: Any) -> int | None:
    """``value`` if it is an int (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def path(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` or None when any step is missing or not a mapping."""
    current: Any = obj
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj.metadata`` (empty when absent)."""
    return as_map(obj.get("metadata"))


def labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj.metadata.labels`` (empty when absent)."""
    return as_map(metadata(obj).get("labels"))


def name_of(obj: Mapping[str, Any]) -> str | None:
    """``obj.metadata.name``."""
    return as_str(metadata(obj).get("name"))


def condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    """The ``status.conditions[]`` entry of type ``ctype`` (the last one if repeated)."""
    found: Mapping[str, Any] | None = None
    for cond in as_list(path(obj, "status", "conditions")):
        if cond.get("type") == ctype:
            found = cond
    return found


def cond_status(cond: Mapping[str, Any] | None) -> str:
    """``"True"``, ``"False"`` or ``"Unknown"`` (absent counts as Unknown)."""
    if cond is None:
        return "Unknown"
    value = cond.get("status")
    return value if value in ("True", "False") else "Unknown"


def cond_reason(cond: Mapping[str, Any] | None) -> str | None:
    """The condition's reason, if any."""
    return as_str(cond.get("reason")) if cond is not None else None


def cond_message(cond: Mapping[str, Any] | None) -> str | None:
    """The condition's message, if any."""
    return as_str(cond.get("message")) if cond is not None else None


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime, or None when absent/unparseable."""
    text = as_str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def aware(now: datetime | None) -> datetime | None:
    """``now`` with a timezone (naive values are taken as UTC)."""
    if now is None or now.tzinfo is not None:
        return now
    return now.replace(tzinfo=UTC)


def shorten(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut in the middle if longer than ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    half = (limit - 5) // 2
    return f"{flat[:half]} ... {flat[-half:]}"


def describe(kind: str, namespace: str | None, name: str) -> str:
    """``Kind namespace/name`` (``Kind name`` without a namespace)."""
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def quote_all(names: Sequence[str]) -> str:
    """``"a", "b"`` for messages."""
    return ", ".join(f'"{n}"' for n in names)
