"""Regenerate the supported-architecture list of one vLLM release from its own model registry.

Maintainer tool, run when the cluster profiles move to a new ``vllm/vllm-openai`` tag:

    curl -LO https://files.pythonhosted.org/.../vllm-0.11.0.tar.gz    # the release's sdist
    python scripts/vllm_architectures.py vllm-0.11.0.tar.gz vllm/vllm-openai:v0.11.0

The registry (``vllm/model_executor/models/registry.py``) is read with ``ast``, never imported
(importing vLLM needs its GPU stack). Served: the text-generation, embedding, cross-encoder,
multimodal and Transformers-supported tables; left out: speculative-decoding drafts (not served
on their own), the generic Transformers backend classes, and ``_PREVIOUSLY_SUPPORTED_MODELS``.
The image's entry in ``inference_core/data/vllm_architectures.yaml`` is replaced (or added);
other images' entries are kept as they are.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tarfile
from pathlib import Path

import yaml

REGISTRY = "vllm/model_executor/models/registry.py"
DATA = Path(__file__).resolve().parents[1] / "inference_core" / "data" / "vllm_architectures.yaml"
TABLES = {
    "_TEXT_GENERATION_MODELS": "text generation",
    "_EMBEDDING_MODELS": "embedding / reward / classification",
    "_CROSS_ENCODER_MODELS": "cross-encoder (scoring)",
    "_MULTIMODAL_MODELS": "multimodal",
    "_TRANSFORMERS_SUPPORTED_MODELS": "served through vLLM's Transformers backend",
}
RETIRED = "_PREVIOUSLY_SUPPORTED_MODELS"


def registry_source(path: Path) -> str:
    """The registry module's text, from an sdist (``.tar.gz``) or the ``registry.py`` itself."""
    if path.suffix == ".py":
        return path.read_text()
    with tarfile.open(path) as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith("/" + REGISTRY)), None)
        if member is None:
            raise SystemExit(f"{path}: no {REGISTRY} inside")
        handle = archive.extractfile(member)
        assert handle is not None
        return handle.read().decode()


def dict_keys(source: str) -> dict[str, list[str]]:
    """Literal string keys of every module-level ``_*_MODELS = {...}`` table."""
    tables: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            tables[target.id] = [k.value for k in value.keys
                                 if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    return tables


def render_entry(image: str, tables: dict[str, list[str]]) -> str:
    """The YAML block of one image: its architectures, grouped by registry table."""
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise SystemExit(f"registry has no table(s) {missing}: the registry layout changed, "
                         "update TABLES in this script")
    retired = set(tables.get(RETIRED, []))
    seen: set[str] = set()
    lines = [f'  "{image}":', "    architectures:"]
    for table, title in TABLES.items():
        names = sorted(set(tables[table]) - retired - seen)
        seen.update(names)
        if names:
            lines.append(f"      # {title} ({table})")
            lines.extend(f"      - {name}" for name in names)
    return "\n".join(lines) + "\n"


def update(data_text: str, image: str, entry: str) -> str:
    """``data_text`` with ``image``'s block replaced by ``entry`` (appended when new)."""
    lines = data_text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(f'  "{image}":')), None)
    if start is None:
        return data_text.rstrip("\n") + "\n" + entry
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("  ") and not lines[i].startswith("   ")), len(lines))
    return "".join(lines[:start]) + entry + "".join(lines[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="vLLM sdist (.tar.gz) or registry.py")
    parser.add_argument("image", help='image the list belongs to, e.g. "vllm/vllm-openai:v0.11.0"')
    parser.add_argument("--data", type=Path, default=DATA, help="YAML file to update")
    parser.add_argument("--print", action="store_true", help="print the block, write nothing")
    args = parser.parse_args(argv)
    entry = render_entry(args.image, dict_keys(registry_source(args.source)))
    if args.print:
        sys.stdout.write(entry)
        return 0
    text = update(args.data.read_text(), args.image, entry)
    yaml.safe_load(text)  # never write a file the loader cannot read
    args.data.write_text(text)
    count = sum(1 for line in entry.splitlines() if line.startswith("      - "))
    print(f"{args.data}: {args.image} now lists {count} architectures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
