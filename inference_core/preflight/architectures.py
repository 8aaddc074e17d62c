"""Which model architectures a pinned vLLM image serves.

The list lives as data in ``inference_core/data/vllm_architectures.yaml``, keyed by the full
image reference (``vllm/vllm-openai:v0.11.0``), so it is versioned with the image the cluster
profile pins. Lookup rules:

- the image is listed → the architecture must be in its list, else :class:`UnsupportedModel`;
- the image is not listed (custom build, newer tag) → :func:`supported_architectures` returns
  ``None`` and preflight only adds a warning note.

Image references are matched exactly, then without a registry host prefix
(``docker.io/vllm/vllm-openai:v0.11.0`` matches ``vllm/vllm-openai:v0.11.0``); a digest suffix
(``@sha256:...``) is ignored.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_DATA_FILE = "vllm_architectures.yaml"


@functools.cache
def _load() -> dict[str, frozenset[str]]:
    text = (Path(__file__).resolve().parent.parent / "data" / _DATA_FILE).read_text("utf-8")
    raw: Any = yaml.safe_load(text)
    images = raw.get("images", {}) if isinstance(raw, dict) else {}
    table: dict[str, frozenset[str]] = {}
    for image, entry in images.items():
        archs = entry.get("architectures", []) if isinstance(entry, dict) else []
        table[str(image)] = frozenset(str(a) for a in archs)
    return table


def known_images() -> tuple[str, ...]:
    """The image references the data file has architecture lists for, sorted."""
    return tuple(sorted(_load()))


def _normalise(image: str) -> str:
    ref = image.split("@", 1)[0]
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        ref = rest  # drop a registry host such as docker.io or a mirror
    if ref.startswith("library/"):
        ref = ref[len("library/"):]
    return ref


def resolve_image(image: str) -> str | None:
    """The data-file key that ``image`` matches, or None when the image is not listed."""
    table = _load()
    if image in table:
        return image
    norm = _normalise(image)
    return norm if norm in table else None


def supported_architectures(image: str) -> frozenset[str] | None:
    """Architectures ``image`` serves, or None when the data file has no list for it."""
    key = resolve_image(image)
    return None if key is None else _load()[key]
