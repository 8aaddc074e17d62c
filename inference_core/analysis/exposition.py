"""A reader of the Prometheus text exposition format (what ``/metrics`` serves)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One line: metric name, labels, value."""

    name: str
    labels: dict[str, str]
    value: float


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.index("=", i)
        key = text[i:eq].strip().lstrip(",").strip()
        j = eq + 1
        while text[j] != '"':
            j += 1
        j += 1
        value: list[str] = []
        while text[j] != '"':
            if text[j] == "\\" and j + 1 < len(text):
                nxt = text[j + 1]
                value.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, nxt))
                j += 2
                continue
            value.append(text[j])
            j += 1
        labels[key] = "".join(value)
        i = j + 1
        while i < len(text) and text[i] in ", ":
            i += 1
    return labels


def _value(text: str) -> float:
    word = text.split()[0]
    special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    return special[word] if word in special else float(word)


def parse(text: str) -> Iterator[Sample]:
    """Every sample of an exposition (comments skipped); raises ValueError on a bad line."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if "{" in line:
                name, rest = line.split("{", 1)
                close = rest.rindex("}")
                yield Sample(name.strip(), _labels(rest[:close]), _value(rest[close + 1:]))
            else:
                name, rest = line.split(None, 1)
                yield Sample(name, {}, _value(rest))
        except (ValueError, IndexError) as e:
            raise ValueError(f"line {number} is not Prometheus text format: {raw!r}") from e
