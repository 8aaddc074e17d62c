"""Benchmark: validate + render 1,000 varied specs on one core.

Prints specs/second and peak memory for: bare pydantic validation (``model_validate``),
our full validation (types + cross-field rules), and validation + rendering; and the ratio of
render time to bare validation. Targets: >= 2,000 specs/s for validate + render, and
render overhead <= 2x bare validation.

``--cli``: end-to-end ``infstack validate`` / ``infstack render`` on one file holding 1, 100,
1,000 and 10,000 specs (child CPU time and wall time), the YAML loader alone with libyaml
against pure-Python PyYAML on the 10,000-spec file, and ``infstack --help`` start-up against
``python -c pass``.

Run: ``.venv/bin/python bench/render.py`` (``--cli`` for the file-scaling figures)
"""

from __future__ import annotations

import argparse
import copy
import gc
import random
import resource
import subprocess
import sys
import tempfile
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


def _child(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(median child CPU seconds, best wall seconds) of running ``cmd``."""
    cpus, walls = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              check=False, cwd=REPO)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed: {done.stderr.decode()[-500:]}")
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    cpus.sort()
    return cpus[len(cpus) // 2], min(walls)


def cli_scaling() -> None:
    """File-size scaling of the CLI, the loader with and without libyaml, and start-up."""
    from inference_core.spec import load_specs_text, yamlio

    cli = [sys.executable, "-m", "inference_core.cli"]
    print(f"libyaml available: {yamlio.LIBYAML}")
    print(f"{'specs':>7} {'command':<9} {'CPU s':>8} {'wall s':>8} {'CPU ms/spec':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 100, 1000, 10_000):
            path = Path(tmp) / f"specs-{n}.yaml"
            path.write_text(yaml.safe_dump_all(varied_docs(n), sort_keys=False))
            for command in ("validate", "render"):
                cpu, wall = _child([*cli, command, "-p", "kai", str(path)],
                                   repeat=1 if n >= 10_000 else 3)
                print(f"{n:>7,} {command:<9} {cpu:>8.2f} {wall:>8.2f} {cpu / n * 1000:>12.2f}")
        text = (Path(tmp) / "specs-10000.yaml").read_text()
        for label, loader in (("libyaml CSafeLoader", yamlio.SafeLoader),
                              ("pure-Python SafeLoader", yaml.SafeLoader)):
            saved = yamlio.SafeLoader
            yamlio.SafeLoader = loader  # type: ignore[misc]
            try:
                took = float("inf")
                for _ in range(2):  # best of two: the machine may be shared
                    start = time.process_time()
                    load_specs_text(text)
                    took = min(took, time.process_time() - start)
            finally:
                yamlio.SafeLoader = saved  # type: ignore[misc]
            print(f"load + validate 10,000 specs, {label:<24} {took:>6.2f} s CPU")
    base, _ = _child([sys.executable, "-c", "pass"], repeat=10)
    helped, _ = _child([*cli, "--help"], repeat=10)
    print(f"start-up CPU: python -c pass {base * 1000:.0f} ms, infstack --help "
          f"{helped * 1000:.0f} ms ({helped / base:.1f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", action="store_true", help="CLI file-scaling figures")
    if parser.parse_args().cli:
        cli_scaling()
    else:
        main()
