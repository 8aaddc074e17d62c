"""Benchmark: validate + render 1,000 varied specs on one core.

Prints specs/second and peak memory for: bare pydantic validation (``model_validate``),
our full validation (types + cross-field rules), and validation + rendering; and the ratio of
render time to bare validation. Targets: >= 2,000 specs/s for validate + render, and
render overhead <= 2x bare validation.

Run: ``.venv/bin/python bench/render.py``
"""

from __future__ import annotations

import copy
import gc
import random
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import parse_spec
from inference_core.spec.kinds import KINDS

REPO = Path(__file__).resolve().parents[1]
N = 1000


def varied_docs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` specs derived from the examples with varied names, replicas and compute."""
    rng = random.Random(seed)
    bases = [d for p in sorted((REPO / "examples").glob("*.yaml"))
             for d in yaml.safe_load_all(p.read_text()) if d]
    docs = []
    for i in range(n):
        doc = copy.deepcopy(bases[i % len(bases)])
        doc["metadata"]["name"] = f"w{i}-{doc['metadata']['name']}"[:40].rstrip("-")
        doc["metadata"]["project"] = f"team-{rng.randint(1, 50)}"
        doc["metadata"]["labels"] = {"cost-center": f"cc{rng.randint(1, 9)}"}
        spec = doc["spec"]
        if "replicas" in spec and isinstance(spec["replicas"], dict):
            lo = rng.randint(1, 3)
            spec["replicas"] = {"min": lo, "max": lo + rng.randint(1, 5),
                                "autoscaling": {"metric": "concurrency",
                                                "target": rng.randint(1, 100)}}
        docs.append(doc)
    return docs


def timed(label: str, fn: Callable[[], list[Any]], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs (no tracing), then peak memory of one traced run
    (the results are kept, as a caller holding every rendered manifest would)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    kept = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    print(f"{label:<34} {N / best:>9,.0f} specs/s   {best * 1000:>8.1f} ms   "
          f"peak {peak / 2**20:>6.1f} MiB")
    return best


def main() -> None:
    docs = varied_docs(N)
    profile = load_profile("kai")
    # Warm up imports and pydantic's validators.
    for doc in docs[:20]:
        render(parse_spec(doc), profile)

    def bare() -> list[Any]:
        return [KINDS[doc["kind"]].model_validate(doc) for doc in docs]

    def validate() -> list[Any]:
        return [parse_spec(doc) for doc in docs]

    specs = validate()

    def render_only() -> list[Any]:
        return [render(spec, profile) for spec in specs]

    def full() -> list[Any]:
        return [render(parse_spec(doc), profile) for doc in docs]

    print(f"inference-stacks render benchmark: {N} specs "
          f"({len({d['kind'] for d in docs})} kinds)")
    t_bare = timed("bare pydantic validation", bare)
    t_val = timed("validation (types + rules)", validate)
    t_render = timed("render only (validated specs)", render_only)
    t_full = timed("validate + render", full)
    print(f"\nvalidate + render: {N / t_full:,.0f} specs/s (target >= 2,000)")
    print(f"render time / bare validation time: {t_render / t_bare:.2f}x (target <= 2x)")
    print(f"(validate + render) / bare validation: {t_full / t_bare:.2f}x; "
          f"rules add {t_val / t_bare:.2f}x over bare validation")


if __name__ == "__main__":
    main()
