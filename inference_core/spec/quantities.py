"""Parsing and formatting of the units users write in specs.

Quantities follow Kubernetes' own parser (``kubernetes.utils.parse_quantity``): ``1G`` is
10^9, ``1Gi`` 2^30, ``500m`` 0.5. Memory also accepts the Run:ai form units (``MB``/``GB``,
decimal, as ``M``/``G``); it is stored as whole bytes (``16m``, milli-bytes, is refused as a
typo). CPU accepts cores (``2``, ``0.5``) or millicores (``500m``); it is stored as millicores.
Durations accept ``30s``, ``5m``, ``1h30m`` or plain seconds; they are stored as seconds.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# The Run:ai form writes decimal sizes as MB/GB; Kubernetes writes M/G (and Mi/Gi binary).
_FORM_UNITS = re.compile(r"^([0-9.]+)\s*([kmgtpe])(i?)b$", re.IGNORECASE)
_DUR_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

MEMORY_HELP = "a size such as 512MB, 16GB, 8Gi or a number of bytes"
CPU_HELP = "cores (2, 0.5) or millicores (500m)"
DURATION_HELP = "a duration such as 30s, 5m, 1h30m or a number of seconds"


@functools.cache
def _kubernetes_parse_quantity() -> Callable[[Any], Decimal]:
    """``kubernetes.utils.parse_quantity`` (Kubernetes quantity semantics: ``1G`` = 10^9,
    ``1Gi`` = 2^30, ``500m`` = 0.5, exponents).

    The ``kubernetes`` package's ``__init__`` imports the whole API client (over a second);
    its quantity module is self-contained, so it is loaded from its file unless the package
    is already imported.
    """
    loaded = sys.modules.get("kubernetes.utils.quantity")
    if loaded is None:
        package = importlib.util.find_spec("kubernetes")
        if package is None or not package.submodule_search_locations:
            raise ModuleNotFoundError("kubernetes")  # pragma: no cover - a declared dependency
        path = Path(next(iter(package.submodule_search_locations))) / "utils" / "quantity.py"
        spec = importlib.util.spec_from_file_location("_inference_core_k8s_quantity", path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
    parse: Callable[[Any], Decimal] = loaded.parse_quantity
    return parse


def parse_quantity(value: str | int) -> Decimal:
    """A Kubernetes quantity (``1G``, ``1Gi``, ``500m``, ``2``); ValueError when malformed."""
    text = str(value).strip()
    if not text or len(text) > 64:
        raise ValueError("is not a Kubernetes quantity")
    try:
        amount = _kubernetes_parse_quantity()(text)
    except ValueError:
        raise ValueError("is not a Kubernetes quantity") from None
    if not amount.is_finite():
        raise ValueError("is not a Kubernetes quantity")
    return amount


def parse_memory(value: Any) -> int:
    """Bytes from ``16GB``/``8Gi``/``512MB``/``1G``/int (Kubernetes quantity semantics, plus the
    Run:ai form's ``MB``/``GB``). Raises ValueError with the allowed forms."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected {MEMORY_HELP}")
    text = str(value).strip()
    form = _FORM_UNITS.match(text)
    if form:
        unit, binary = form.group(2).upper(), form.group(3).lower()
        unit = "k" if unit == "K" and not binary else unit
        text = f"{form.group(1)}{unit}{binary}"
    try:
        amount = parse_quantity(text)
    except ValueError:
        raise ValueError(f"expected {MEMORY_HELP}") from None
    if amount <= 0:
        raise ValueError("must be greater than 0")
    if amount != amount.to_integral_value():
        raise ValueError(f"is not a whole number of bytes ('m' means milli; {MEMORY_HELP})")
    return int(amount)


def format_memory(num_bytes: int) -> str:
    """A Kubernetes quantity for ``num_bytes``, exact and stable (``16Gi``, ``8G``, ``512M``)."""
    for suffix, factor in (("Ti", 2**40), ("T", 10**12), ("Gi", 2**30), ("G", 10**9),
                           ("Mi", 2**20), ("M", 10**6), ("Ki", 2**10), ("k", 10**3)):
        if num_bytes % factor == 0:
            return f"{num_bytes // factor}{suffix}"
    return str(num_bytes)


def parse_cpu(value: Any) -> int:
    """Millicores from ``2``/``0.5``/``"500m"`` (Kubernetes quantity semantics). Raises
    ValueError with the allowed forms."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected {CPU_HELP}")
    try:
        milli = parse_quantity(repr(value) if isinstance(value, float) else value) * 1000
    except ValueError:
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
