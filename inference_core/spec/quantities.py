"""Parsing and formatting of the units users write in specs.

Memory accepts the Run:ai form units (``MB``/``GB``, decimal) and Kubernetes suffixes
(``M``/``G``/``T`` decimal, ``Mi``/``Gi``/``Ti`` binary); it is stored as bytes.
CPU accepts cores (``2``, ``0.5``) or millicores (``500m``); it is stored as millicores.
Durations accept ``30s``, ``5m``, ``1h30m`` or plain seconds; they are stored as seconds.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_MEM_UNITS: dict[str, int] = {
    "": 1, "B": 1,
    "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
    "T": 10**12, "TB": 10**12,
    "KI": 2**10, "KIB": 2**10, "MI": 2**20, "MIB": 2**20, "GI": 2**30, "GIB": 2**30,
    "TI": 2**40, "TIB": 2**40,
}
_MEM_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_DUR_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

MEMORY_HELP = "a size such as 512MB, 16GB, 8Gi or a number of bytes"
CPU_HELP = "cores (2, 0.5) or millicores (500m)"
DURATION_HELP = "a duration such as 30s, 5m, 1h30m or a number of seconds"


def parse_memory(value: Any) -> int:
    """Bytes from ``16GB``/``8Gi``/``512MB``/int. Raises ValueError with the allowed forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {MEMORY_HELP}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected {MEMORY_HELP}")
    match = _MEM_RE.match(value)
    unit = match.group(2).upper() if match else None
    if not match or unit not in _MEM_UNITS:
        raise ValueError(f"expected {MEMORY_HELP}")
    amount = Decimal(match.group(1)) * _MEM_UNITS[unit]
    if amount <= 0:
        raise ValueError("must be greater than 0")
    return int(amount)


def format_memory(num_bytes: int) -> str:
    """A Kubernetes quantity for ``num_bytes``, exact and stable (``16Gi``, ``8G``, ``512M``)."""
    for suffix, factor in (("Ti", 2**40), ("T", 10**12), ("Gi", 2**30), ("G", 10**9),
                           ("Mi", 2**20), ("M", 10**6), ("Ki", 2**10), ("k", 10**3)):
        if num_bytes % factor == 0:
            return f"{num_bytes // factor}{suffix}"
    return str(num_bytes)


def parse_cpu(value: Any) -> int:
    """Millicores from ``2``/``0.5``/``"500m"``. Raises ValueError with the allowed forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {CPU_HELP}")
    try:
        if isinstance(value, str) and value.strip().endswith("m"):
            milli = Decimal(value.strip()[:-1])
        else:
            milli = Decimal(str(value).strip()) * 1000
    except InvalidOperation:
        raise ValueError(f"expected {CPU_HELP}") from None
    if milli <= 0 or milli != milli.to_integral_value():
        raise ValueError(f"must be a positive whole number of millicores ({CPU_HELP})")
    return int(milli)


def format_cpu(millicores: int) -> str:
    """``2`` for whole cores, ``500m`` otherwise."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def parse_duration(value: Any) -> int:
    """Seconds from ``30s``/``5m``/``1h30m``/int. Raises ValueError with the allowed forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _DUR_RE.match(text)
        if text and match and any(match.groups()):
            h, m, s = (int(g) if g else 0 for g in match.groups())
            return h * 3600 + m * 60 + s
    raise ValueError(f"expected {DURATION_HELP}")


def format_duration(seconds: int) -> str:
    """A Go duration in whole seconds, as Knative annotations want (``600s``)."""
    return f"{seconds}s"


Memory = Annotated[
    int,
    BeforeValidator(parse_memory),
    PlainSerializer(format_memory, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?\s*[A-Za-z]*$"},
                              {"type": "integer", "minimum": 1}],
                    "description": MEMORY_HELP}),
]
"""A memory size, stored as bytes."""

Cpu = Annotated[
    int,
    BeforeValidator(parse_cpu),
    PlainSerializer(format_cpu, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?m?$"},
                              {"type": "number", "exclusiveMinimum": 0}],
                    "description": CPU_HELP}),
]
"""A CPU amount, stored as millicores."""

Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda s: f"{s}s", return_type=str),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^(\d+h)?(\d+m)?(\d+s)?$|^\d+$"},
                              {"type": "integer", "minimum": 0}],
                    "description": DURATION_HELP}),
]
"""A duration, stored as whole seconds."""
